/**
 * The OpenAPI 3.1 description of the JSON API, served at
 * basePath + '/api/openapi.json'. Its schemas are strict
 * (additionalProperties: false), and the tests check every real response
 * against them, so this document cannot drift from the code.
 */
import type { AuthenticationMethod } from '../../methods/method.js';

const isoTime = { type: 'string', format: 'date-time' } as const;

const deviceCommon = {
  id: { type: 'string' },
  nickname: { type: ['string', 'null'], maxLength: 64 },
  status: { enum: ['ACTIVATION_REQUIRED', 'ACTIVE', 'BLOCKED'] },
  default: { type: 'boolean', description: 'The first active device in the user\'s order: prompted unless another is chosen.' },
  createdAt: isoTime,
  updatedAt: isoTime,
  activatedAt: { anyOf: [isoTime, { type: 'null' }] },
} as const;

/** A device of one method, with `extra` fields required too. */
function deviceOf(method: AuthenticationMethod, extra: Record<string, unknown> = {}) {
  const properties = { ...deviceCommon, type: { const: method.type }, ...method.api.fields, ...extra };
  return { type: 'object', additionalProperties: false, required: Object.keys(properties), properties };
}

function deviceSchemas(methods: AuthenticationMethod[]) {
  const activation = { activation: { type: 'object', additionalProperties: false, required: ['expiresAt'], properties: { expiresAt: isoTime } } };
  return {
    Device: { oneOf: methods.map((m) => deviceOf(m)) },
    DeviceCreated: { oneOf: methods.map((m) => deviceOf(m, m.api.created)) },
    DeviceResent: { oneOf: methods.filter((m) => m.sends).map((m) => deviceOf(m, activation)) },
  };
}

const schemas = {
  Devices: {
    type: 'object',
    additionalProperties: false,
    required: ['_embedded', 'count'],
    properties: {
      _embedded: {
        type: 'object',
        additionalProperties: false,
        required: ['devices'],
        properties: { devices: { type: 'array', items: { $ref: '#/components/schemas/Device' } } },
      },
      count: { type: 'integer', minimum: 0 },
    },
  },
  DeviceSelection: {
    type: 'object',
    additionalProperties: false,
    required: ['status', '_embedded', 'count'],
    properties: {
      status: { const: 'DEVICE_SELECTION_REQUIRED' },
      _embedded: { $ref: '#/components/schemas/Devices/properties/_embedded' },
      count: { type: 'integer', minimum: 2 },
    },
  },
  Authentication: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'status', 'device'],
    properties: {
      id: { type: 'string' },
      status: { enum: ['OTP_REQUIRED', 'ASSERTION_REQUIRED'], description: 'ASSERTION_REQUIRED: a passkey; answer at /authentications/{id}/assertion.' },
      publicKeyCredentialRequestOptions: { type: 'object', description: 'For a passkey: for navigator.credentials.get() (as JSON: @simplewebauthn/browser startAuthentication({ optionsJSON })).' },
      device: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'type'],
        properties: {
          id: { type: 'string' },
          type: { type: 'string' },
          sentTo: { type: 'string', description: 'Where the code was sent, partly hidden; absent for a device that makes its own codes (an authenticator app).' },
        },
      },
      expiresAt: { ...isoTime, description: 'When the code sent expires; absent for an app, whose codes change every 30 seconds.' },
    },
  },
  AuthenticationCompleted: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'status', 'device', 'completedAt'],
    properties: {
      id: { type: 'string' },
      status: { const: 'COMPLETED' },
      device: { type: 'object', additionalProperties: false, required: ['id', 'type'], properties: { id: { type: 'string' }, type: { type: 'string' } } },
      completedAt: isoTime,
    },
  },
  TrustedBrowsers: {
    type: 'object',
    additionalProperties: false,
    required: ['_embedded', 'count'],
    properties: {
      _embedded: {
        type: 'object',
        additionalProperties: false,
        required: ['trustedBrowsers'],
        properties: { trustedBrowsers: { type: 'array', items: { $ref: '#/components/schemas/TrustedBrowser' } } },
      },
      count: { type: 'integer', minimum: 0 },
    },
  },
  TrustedBrowser: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'label', 'createdAt', 'lastUsedAt', 'expiresAt', 'current'],
    properties: {
      id: { type: 'string' },
      label: { type: 'string', description: "What the browser said it was when it was trusted, such as 'Chrome on macOS', else 'A browser'." },
      createdAt: isoTime,
      lastUsedAt: { ...isoTime, description: 'When it last skipped MFA at sign-on (its creation at first).' },
      expiresAt: isoTime,
      current: { type: 'boolean', description: 'The browser that asks (always false for another user\'s browsers).' },
    },
  },
  RecoveryCodesRemaining: {
    type: 'object',
    additionalProperties: false,
    required: ['remaining'],
    properties: { remaining: { type: 'integer', minimum: 0, description: 'How many of the user\'s recovery codes are unused.' } },
  },
  RecoveryCodes: {
    type: 'object',
    additionalProperties: false,
    required: ['codes'],
    properties: {
      codes: {
        type: 'array',
        description: 'The new set, shown this once: each code signs on once. Every earlier code stops working.',
        minItems: 10,
        maxItems: 10,
        uniqueItems: true,
        items: { type: 'string', pattern: '^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$' },
      },
    },
  },
  Error: {
    type: 'object',
    additionalProperties: false,
    required: ['code', 'message'],
    properties: {
      code: {
        enum: [
          'VALIDATION_FAILED', 'NOT_FOUND', 'LIMIT_EXCEEDED', 'DEVICE_EXISTS', 'INVALID_OTP', 'OTP_EXPIRED',
          'TOO_MANY_ATTEMPTS', 'LOCKED', 'RESEND_TOO_SOON', 'SEND_LIMIT_EXCEEDED', 'RATE_LIMITED', 'DELIVERY_FAILED',
          'STORE_UNAVAILABLE', 'SERVICE_UNAVAILABLE', 'MFA_REQUIRED', 'UNAUTHENTICATED', 'FORBIDDEN',
          'UNSUPPORTED_MEDIA_TYPE', 'BAD_REQUEST',
        ],
      },
      message: { type: 'string' },
      details: {
        type: 'object',
        additionalProperties: false,
        properties: {
          field: { type: 'string' },
          remainingAttempts: { type: 'integer', minimum: 0 },
          lockedUntil: isoTime,
          retryAfter: { type: 'integer', minimum: 1, description: 'Seconds.' },
          limit: { type: 'integer' },
          challenge: { type: 'string', description: 'The page where a browser answers the step-up.' },
        },
      },
    },
  },
} as const;

const json = (schema: string) => ({ content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } } });
const error = (description: string) => ({ description, ...json('Error') });
const body = (properties: Record<string, unknown>, required: string[] = []) => ({
  required: true,
  content: { 'application/json': { schema: { type: 'object', additionalProperties: false, required, properties } } },
});

/** Any operation may get these; an operation's own description of a status comes after `...common`. */
const common = {
  '400': error('A path parameter that is not valid percent-encoding, or a body in a broken Content-Encoding (BAD_REQUEST)'),
  '401': error("Not signed on (UNAUTHENTICATED), or an administrator's change to another user without the administrator's own recent MFA (MFA_REQUIRED)"),
  '403': error('Cross-site request, or not an administrator (FORBIDDEN)'),
  '413': error('The body is larger than 16 kB (BAD_REQUEST)'),
  '415': error('The body is not JSON (UNSUPPORTED_MEDIA_TYPE), or in an unsupported Content-Encoding (BAD_REQUEST)'),
  '429': error("A write: too many from this client's address (RATE_LIMITED, with retryAfter; also a Retry-After header)"),
  '503': error('The store or the mail transport is down (STORE_UNAVAILABLE, DELIVERY_FAILED, SERVICE_UNAVAILABLE)'),
};
const deviceId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const userId = { name: 'userId', in: 'path', required: true, schema: { type: 'string' } };
const otpBody = body({ otp: { type: 'string', pattern: '^[0-9 -]+$' } }, ['otp']);

/** One body per method's answer field: `{otp}` for codes, `{attestation}` / `{assertion}` for a passkey. */
function answerBody(methods: AuthenticationMethod[], step: 'pairing' | 'answer') {
  const seen = new Map<string, unknown>();
  for (const m of methods) seen.set(m.api.inputs[step], m.api.answerSchema[step]);
  return {
    required: true,
    content: {
      'application/json': {
        schema: { oneOf: [...seen].map(([field, schema]) => ({ type: 'object', additionalProperties: false, required: [field], properties: { [field]: schema } })) },
      },
    },
  };
}

/** Adding a device: one body per method; the first method's `type` may be left out. */
function createBody(methods: AuthenticationMethod[], admin: boolean) {
  return {
    required: true,
    content: {
      'application/json': {
        schema: {
          oneOf: methods.map((m, i) => ({
            type: 'object',
            additionalProperties: false,
            required: [...(i === 0 ? [] : ['type']), ...m.api.createRequired],
            properties: {
              type: { const: m.type },
              nickname: { type: 'string', maxLength: 64 },
              ...m.api.create,
              ...(admin && m.key ? { status: { enum: ['ACTIVE', 'ACTIVATION_REQUIRED'] } } : {}),
            },
          })),
        },
      },
    },
  };
}

function devicePaths(admin: boolean, methods: AuthenticationMethod[]) {
  const params = admin ? [userId] : [];
  const tag = admin ? ['Admin'] : ['Devices'];
  return {
    list: {
      parameters: params,
      get: { tags: tag, summary: 'List the devices', responses: { '200': { description: 'The devices', ...json('Devices') }, ...common } },
      post: {
        tags: tag,
        summary: admin
          ? 'Add a device; status ACTIVE adds one of a method with addresses without a pairing code'
          : 'Add a device: an email device is sent its pairing code; an authenticator app answers with its secret and key URI, once',
        requestBody: createBody(methods, admin),
        responses: {
          ...common,
          '201': { description: 'Created (ACTIVATION_REQUIRED, or ACTIVE when an administrator asked)', ...json('DeviceCreated') },
          '400': error('VALIDATION_FAILED or BAD_REQUEST'),
          '401': error('UNAUTHENTICATED, or MFA_REQUIRED: adding a method needs a recent MFA'),
          '409': error('LIMIT_EXCEEDED or DEVICE_EXISTS'),
          '423': error('LOCKED'),
          '429': error('SEND_LIMIT_EXCEEDED, or RATE_LIMITED (too many writes from this address)'),
        },
      },
    },
    one: {
      parameters: [...params, deviceId],
      get: { tags: tag, summary: 'One device', responses: { '200': { description: 'The device', ...json('Device') }, '404': error('NOT_FOUND'), ...common } },
      patch: {
        tags: tag,
        summary: admin ? 'Rename, make default, block or unblock' : 'Rename or make default',
        requestBody: body({
          nickname: { type: ['string', 'null'], maxLength: 64 },
          default: { const: true },
          ...(admin ? { status: { enum: ['BLOCKED', 'ACTIVE'] } } : {}),
        }),
        responses: { ...common, '200': { description: 'The device', ...json('Device') }, '400': error('VALIDATION_FAILED or BAD_REQUEST'), '404': error('NOT_FOUND') },
      },
      delete: {
        tags: tag,
        summary: 'Remove the device',
        responses: {
          '204': { description: 'Removed' },
          '404': error('NOT_FOUND'),
          ...common,
          '400': error("VALIDATION_FAILED (field device): the user's only active method, which only an administrator may remove; or BAD_REQUEST"),
          '401': error('UNAUTHENTICATED, or MFA_REQUIRED: removing a method needs a recent MFA'),
        },
      },
    },
    activate: {
      parameters: [...params, deviceId],
      post: {
        tags: tag,
        summary: 'Activate with the pairing code, the first code of an authenticator app, or a passkey\'s attestation',
        requestBody: answerBody(methods, 'pairing'),
        responses: {
          ...common,
          '200': { description: 'ACTIVE', ...json('Device') },
          '400': error('INVALID_OTP (with remainingAttempts), OTP_EXPIRED, TOO_MANY_ATTEMPTS, VALIDATION_FAILED or BAD_REQUEST'),
          '404': error('NOT_FOUND'),
          '423': error('LOCKED (with lockedUntil)'),
        },
      },
    },
    order: {
      parameters: params,
      post: {
        tags: tag,
        summary: 'Order the devices, first to last; the first active one is the default',
        requestBody: body({
          order: { type: 'array', items: { type: 'string' }, uniqueItems: true, description: "The ids of all of the user's devices, each once." },
        }, ['order']),
        responses: {
          ...common,
          '200': { description: 'The devices in their new order', ...json('Devices') },
          '400': error("VALIDATION_FAILED (field order): not exactly the user's device ids, each once; or BAD_REQUEST"),
        },
      },
    },
    resend: {
      parameters: [...params, deviceId],
      post: {
        tags: tag,
        summary: 'Send a new pairing code (the previous one stops working)',
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false } } } },
        responses: {
          ...common,
          '200': { description: 'Sent', ...json('DeviceResent') },
          '400': error('VALIDATION_FAILED: the device is already active, or its method sends no codes; or BAD_REQUEST'),
          '404': error('NOT_FOUND'),
          '423': error('LOCKED'),
          '429': error('RESEND_TOO_SOON, SEND_LIMIT_EXCEEDED, or RATE_LIMITED (too many writes from this address); with retryAfter, and a Retry-After header'),
        },
      },
    },
  };
}

export function openApiDocument(basePath: string, methods: AuthenticationMethod[]) {
  const own = devicePaths(false, methods);
  const admin = devicePaths(true, methods);
  return {
    openapi: '3.1.0',
    info: {
      title: 'express-mfa API',
      version: '1',
      description:
        'Manage authentication devices and trigger MFA requests for the signed-on user (session cookie). Writes need Content-Type: application/json and, from a browser, a same-origin Origin. Routes under /users/{userId} need the admin option to answer true.',
    },
    servers: [{ url: `${basePath}/api` }],
    paths: {
      '/devices': own.list,
      '/devices/order': own.order,
      '/devices/{id}': own.one,
      '/devices/{id}/activate': own.activate,
      '/devices/{id}/resend': own.resend,
      '/authentications': {
        post: {
          tags: ['Authentications'],
          summary: 'Ask a device (default: the default device) for a fresh MFA: a code is sent to an email device; an app needs nothing sent',
          requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { deviceId: { type: 'string' } } } } } },
          responses: {
            ...common,
            '201': { description: 'OTP_REQUIRED, or ASSERTION_REQUIRED for a passkey', ...json('Authentication') },
            '200': { description: 'DEVICE_SELECTION_REQUIRED (policy deviceSelection: prompt): repeat with a deviceId', ...json('DeviceSelection') },
            '400': error('VALIDATION_FAILED or BAD_REQUEST'),
            '404': error('NOT_FOUND'),
            '423': error('LOCKED'),
            '429': error('SEND_LIMIT_EXCEEDED, or RATE_LIMITED (too many writes from this address)'),
          },
        },
      },
      '/authentications/{id}/otp': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: {
          tags: ['Authentications'],
          summary: 'Answer the code; the session records a fresh MFA and gets a new id',
          requestBody: otpBody,
          responses: {
            ...common,
            '200': { description: 'COMPLETED', ...json('AuthenticationCompleted') },
            '400': error('INVALID_OTP (with remainingAttempts), OTP_EXPIRED, TOO_MANY_ATTEMPTS, VALIDATION_FAILED or BAD_REQUEST'),
            '404': error('NOT_FOUND'),
            '423': error('LOCKED (with lockedUntil)'),
          },
        },
      },
      ...(methods.some((m) => m.api.inputs.answer !== 'otp') ? { '/authentications/{id}/assertion': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: {
          tags: ['Authentications'],
          summary: 'Answer with a passkey\'s assertion; the session records a fresh MFA and gets a new id',
          requestBody: answerBody(methods.filter((m) => m.api.inputs.answer !== 'otp'), 'answer'),
          responses: {
            ...common,
            '200': { description: 'COMPLETED', ...json('AuthenticationCompleted') },
            '400': error('INVALID_OTP (with remainingAttempts), OTP_EXPIRED, TOO_MANY_ATTEMPTS, VALIDATION_FAILED or BAD_REQUEST'),
            '404': error('NOT_FOUND'),
            '423': error('LOCKED (with lockedUntil)'),
          },
        },
      } } : {}),
      '/recovery-codes': {
        get: {
          tags: ['Recovery codes'],
          summary: 'How many recovery codes the user has left',
          responses: { '200': { description: 'The count', ...json('RecoveryCodesRemaining') }, ...common },
        },
        post: {
          tags: ['Recovery codes'],
          summary: 'Generate a new set of 10 recovery codes, replacing any earlier set',
          requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false } } } },
          responses: {
            ...common,
            '201': { description: 'The codes, shown once', ...json('RecoveryCodes') },
            '401': error('UNAUTHENTICATED, or MFA_REQUIRED: a new set needs a recent MFA when the user has an active method'),
          },
        },
      },
      '/trusted-browsers': {
        get: {
          tags: ['Trusted browsers'],
          summary: 'The browsers the user trusted at sign-on ("Trust this browser"), the most recently used first',
          responses: { '200': { description: 'The trusted browsers', ...json('TrustedBrowsers') }, ...common },
        },
        delete: {
          tags: ['Trusted browsers'],
          summary: 'Revoke every trusted browser of the user: each asks for MFA at its next sign-on',
          responses: { '204': { description: 'Revoked' }, ...common },
        },
      },
      '/trusted-browsers/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        delete: {
          tags: ['Trusted browsers'],
          summary: 'Revoke one trusted browser',
          responses: { '204': { description: 'Revoked' }, '404': error('NOT_FOUND'), ...common },
        },
      },
      '/users/{userId}/trusted-browsers': {
        parameters: [userId],
        get: {
          tags: ['Admin'],
          summary: 'The browsers the user trusts',
          responses: { '200': { description: 'The trusted browsers', ...json('TrustedBrowsers') }, ...common },
        },
        delete: {
          tags: ['Admin'],
          summary: 'Revoke every trusted browser of the user',
          responses: { '204': { description: 'Revoked' }, ...common },
        },
      },
      '/users/{userId}/devices': {
        ...admin.list,
        delete: { tags: ['Admin'], summary: 'Remove all devices of the user and void their recovery codes', responses: { '204': { description: 'Removed' }, ...common } },
      },
      '/users/{userId}/devices/order': admin.order,
      '/users/{userId}/devices/{id}': admin.one,
      '/users/{userId}/devices/{id}/activate': admin.activate,
      '/users/{userId}/devices/{id}/resend': admin.resend,
      '/users/{userId}/unlock': {
        parameters: [userId],
        post: {
          tags: ['Admin'],
          summary: 'Lift the user\'s MFA lock',
          requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false } } } },
          responses: { '204': { description: 'Unlocked' }, ...common },
        },
      },
    },
    components: { schemas: { ...deviceSchemas(methods), ...schemas } },
  };
}
