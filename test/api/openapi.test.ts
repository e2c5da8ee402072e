/**
 * The OpenAPI document against the real API: a tour that calls every
 * documented operation with a request that succeeds (each response checked
 * by call()), and a last test asserting that the tour got every documented
 * success status of every (path, method).
 *
 * Coverage is counted per test file: vitest runs each file in its own
 * worker, so the other API files (which also check every response they get)
 * cannot add to this count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agent, type Agent, type TestApp } from '../helpers/app.js';
import { codeFrom, SmtpSink } from '../helpers/smtp.js';
import {
  call,
  escapePointer,
  loadContract,
  openApiDocument,
  seenResponses,
  uncoveredOperations,
  validateRequest,
  validateResponse,
  type ApiResponse,
  type Method,
} from './openapi.js';
import { addressOf, adminWithFreshMfa, appWith, deviceIdOf, freshUser } from './support.js';
import { SoftAuthenticator } from '../helpers/webauthn.js';

let sink: SmtpSink;
let t: TestApp;
let root: Agent;
beforeAll(async () => {
  sink = await SmtpSink.start();
  t = appWith(sink, {
    admin: (req) => req.user?.admin === true,
    policy: { skip: (u) => u.admin === true, deviceSelection: 'prompt' },
    // Named, as in production: each supertest request reaches a new port.
    methods: { email: { resendCooldown: 0 }, fido2: { rpId: 'app.test', origins: ['https://app.test'] } },
  });
  root = await adminWithFreshMfa(t, sink);
});
afterAll(async () => {
  await sink.close();
});

/** call(), with the request body also checked against the document. */
async function send(a: Agent, method: Method, template: string, params: Record<string, string> = {}, body?: unknown): Promise<ApiResponse> {
  await validateRequest(a, method, template, body);
  return call(a, method, template, params, body);
}

/** Sends, and returns the code mailed to `address` because of it. */
async function sendForCode(address: string, request: () => Promise<ApiResponse>, status: number): Promise<{ res: ApiResponse; code: string }> {
  const after = sink.count();
  const res = await request();
  expect(res.status, res.text).toBe(status);
  return { res, code: codeFrom(await sink.next(address, { after })) };
}

describe('the served document', () => {
  it('is OpenAPI 3.1, every path parameter is declared, and every operation documents a success and its errors', async () => {
    const doc = (await openApiDocument(agent(t.app))) as unknown as {
      openapi: string;
      servers: Array<{ url: string }>;
      paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; responses?: Record<string, unknown> }>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: '/mfa/api' }]);
    for (const [template, item] of Object.entries(doc.paths)) {
      const names = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(item)) {
        if (method === 'parameters') continue;
        const declared = [...((item.parameters as unknown as Array<{ name: string; in: string }>) ?? []), ...(op.parameters ?? [])]
          .filter((p) => p.in === 'path')
          .map((p) => p.name);
        expect(declared.sort(), `${method} ${template}`).toEqual([...names].sort());
        const statuses = Object.keys(op.responses ?? {});
        expect(statuses.some((s) => s.startsWith('2')), `${method} ${template} has a success`).toBe(true);
        expect(statuses, `${method} ${template} documents 401 and 403`).toEqual(expect.arrayContaining(['401', '403']));
        if (method !== 'get' && method !== 'delete') expect(statuses, `${method} ${template} documents 415`).toContain('415');
      }
    }
  });

  it('every response schema compiles (Ajv, draft 2020-12)', async () => {
    const a = agent(t.app);
    const contract = await loadContract(a);
    const doc = contract.document as unknown as { paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>> };
    let compiled = 0;
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const [status, response] of Object.entries(op.responses ?? {})) {
          if (!response.content?.['application/json']) continue;
          const pointer = ['', 'paths', template, method, 'responses', status, 'content', 'application/json', 'schema'].map(escapePointer).join('/');
          expect(() => contract.validator(pointer), pointer).not.toThrow();
          compiled += 1;
        }
      }
    }
    expect(compiled).toBeGreaterThan(50);
  });

  it('the check is not vacuous: an undocumented status, an extra field or a body on a 204 fails it', async () => {
    const a = agent(t.app);
    const json = { 'content-type': 'application/json; charset=utf-8' };
    const device = {
      id: 'd', type: 'email', email: 'x@example.test', nickname: null, status: 'ACTIVE', default: true,
      createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', activatedAt: null,
    };
    const forged = (status: number, body: unknown, text = JSON.stringify(body)): ApiResponse => ({ status, body, text, headers: json });
    await expect(validateResponse(a, 'get', '/devices/{id}', forged(418, { code: 'NOT_FOUND', message: 'x' }))).rejects.toThrow(/not documented/);
    await expect(validateResponse(a, 'get', '/devices/{id}', forged(200, { ...device, secret: 'x' }))).rejects.toThrow(/additional properties/);
    await expect(validateResponse(a, 'get', '/devices/{id}', forged(200, { ...device, status: 'DELETED' }))).rejects.toThrow(/does not match/);
    await expect(validateResponse(a, 'get', '/devices/{id}', forged(404, { code: 'NOPE', message: 'x' }))).rejects.toThrow(/does not match/);
    await expect(validateResponse(a, 'delete', '/devices/{id}', forged(204, {}, '{}'))).rejects.toThrow(/empty body/);
    await expect(validateResponse(a, 'get', '/nowhere' as string, forged(200, {}))).rejects.toThrow(/not in the OpenAPI document/);
  });
});

describe('a tour of every operation', () => {
  it('the user\'s own devices and MFA requests', async () => {
    const { a, u, email } = await freshUser(t, sink);
    const main = await deviceIdOf(a, email);
    const work = addressOf(u, 'work');

    expect((await send(a, 'get', '/devices')).status).toBe(200);
    const created = await sendForCode(work, () => send(a, 'post', '/devices', {}, { type: 'email', email: work, nickname: 'Work' }), 201);
    const id = created.res.body.id as string;
    expect((await send(a, 'get', '/devices/{id}', { id })).status).toBe(200);
    expect((await send(a, 'post', '/devices/{id}/activate', { id }, { otp: created.code })).status).toBe(200);
    expect((await send(a, 'patch', '/devices/{id}', { id }, { nickname: 'Office', default: true })).status).toBe(200);
    expect((await send(a, 'post', '/devices/order', {}, { order: [main, id] })).status).toBe(200);

    const prompt = await send(a, 'post', '/authentications', {}, {});
    expect(prompt.status).toBe(200);
    expect(prompt.body.status).toBe('DEVICE_SELECTION_REQUIRED');
    const started = await sendForCode(email, () => send(a, 'post', '/authentications', {}, { deviceId: main }), 201);
    expect((await send(a, 'post', '/authentications/{id}/otp', { id: started.res.body.id }, { otp: started.code })).status).toBe(200);

    expect((await send(a, 'delete', '/devices/{id}', { id })).status).toBe(204);
  });

  it('a passkey: the creation options, the attestation, an assertion', async () => {
    const { a } = await freshUser(t, sink);
    const authenticator = new SoftAuthenticator();
    const created = await send(a, 'post', '/devices', {}, { type: 'fido2', nickname: 'Laptop' });
    expect(created.status, created.text).toBe(201);
    const attestation = authenticator.register(created.body.publicKeyCredentialCreationOptions, 'https://app.test');
    expect((await send(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { attestation })).status).toBe(200);
    const started = await send(a, 'post', '/authentications', {}, { deviceId: created.body.id });
    expect(started.body.status).toBe('ASSERTION_REQUIRED');
    const assertion = authenticator.authenticate(started.body.publicKeyCredentialRequestOptions, 'https://app.test');
    expect((await send(a, 'post', '/authentications/{id}/assertion', { id: started.body.id }, { assertion })).status).toBe(200);
  });

  it('resending the user\'s own pairing code', async () => {
    const { a, u } = await freshUser(t, sink);
    const work = addressOf(u, 'work');
    const created = await sendForCode(work, () => send(a, 'post', '/devices', {}, { email: work }), 201);
    const id = created.res.body.id as string;
    const resent = await sendForCode(work, () => send(a, 'post', '/devices/{id}/resend', { id }, {}), 200);
    expect(resent.res.body).toMatchObject({ id, status: 'ACTIVATION_REQUIRED', activation: { expiresAt: expect.any(String) } });
  });

  it('the admin routes', async () => {
    const { u } = await freshUser(t, sink);
    const userId = u.id;
    expect((await send(root, 'get', '/users/{userId}/devices', { userId })).status).toBe(200);
    const active = await send(root, 'post', '/users/{userId}/devices', { userId }, { type: 'email', email: addressOf(u, 'desk'), status: 'ACTIVE' });
    expect(active.status).toBe(201);
    const pendingAddress = addressOf(u, 'pending');
    const pending = await sendForCode(pendingAddress, () => send(root, 'post', '/users/{userId}/devices', { userId }, { email: pendingAddress }), 201);
    const id = pending.res.body.id as string;
    expect((await send(root, 'get', '/users/{userId}/devices/{id}', { userId, id })).status).toBe(200);
    expect((await send(root, 'post', '/users/{userId}/devices/{id}/activate', { userId, id }, { otp: pending.code })).status).toBe(200);
    const listed = await send(root, 'get', '/users/{userId}/devices', { userId });
    const order = (listed.body._embedded.devices as Array<{ id: string }>).map((d) => d.id).reverse();
    expect((await send(root, 'post', '/users/{userId}/devices/order', { userId }, { order })).status).toBe(200);
    expect((await send(root, 'patch', '/users/{userId}/devices/{id}', { userId, id }, { status: 'BLOCKED' })).status).toBe(200);
    expect((await send(root, 'delete', '/users/{userId}/devices/{id}', { userId, id })).status).toBe(204);
    expect((await send(root, 'post', '/users/{userId}/unlock', { userId }, {})).status).toBe(204);
    expect((await send(root, 'delete', '/users/{userId}/devices', { userId })).status).toBe(204);
  });

  it('an admin resending a user\'s pairing code', async () => {
    const { u } = await freshUser(t, sink);
    const userId = u.id;
    const address = addressOf(u, 'pending');
    const pending = await sendForCode(address, () => send(root, 'post', '/users/{userId}/devices', { userId }, { email: address, status: 'ACTIVATION_REQUIRED' }), 201);
    const id = pending.res.body.id as string;
    const resent = await sendForCode(address, () => send(root, 'post', '/users/{userId}/devices/{id}/resend', { userId, id }, {}), 200);
    expect(resent.res.body).toMatchObject({ id, status: 'ACTIVATION_REQUIRED', activation: { expiresAt: expect.any(String) } });
  });

  it('the user\'s recovery codes', async () => {
    const { a } = await freshUser(t, sink);
    expect((await send(a, 'get', '/recovery-codes')).body).toEqual({ remaining: 0 });
    const made = await send(a, 'post', '/recovery-codes', {}, {});
    expect(made.status).toBe(201);
    expect(made.body.codes).toHaveLength(10);
    expect((await send(a, 'get', '/recovery-codes')).body).toEqual({ remaining: 10 });
  });

  it("the user's trusted browsers, and an administrator's view of them", async () => {
    const { a, u } = await freshUser(t, sink);
    expect((await send(a, 'get', '/trusted-browsers')).status).toBe(200);
    // A trusted browser as a sign-on makes one (this app's policy offers no trust).
    await t.auth.store.saveTrustedBrowser({
      id: 'BBBBBBBBBBBBBBBB', userId: u.id, label: 'Chrome on macOS', createdAt: Date.now(), lastUsedAt: Date.now(), expiresAt: Date.now() + 86_400_000, tokenHash: '00',
    });
    const listed = await send(a, 'get', '/trusted-browsers');
    expect(listed.body._embedded.trustedBrowsers).toEqual([expect.objectContaining({ id: 'BBBBBBBBBBBBBBBB', label: 'Chrome on macOS', current: false })]);
    expect((await send(a, 'delete', '/trusted-browsers/{id}', { id: 'BBBBBBBBBBBBBBBB' })).status).toBe(204);
    expect((await send(a, 'delete', '/trusted-browsers')).status).toBe(204);
    expect((await send(root, 'get', '/users/{userId}/trusted-browsers', { userId: u.id })).status).toBe(200);
    expect((await send(root, 'delete', '/users/{userId}/trusted-browsers', { userId: u.id })).status).toBe(204);
  });

  it('every (path, method) of the document was exercised with each of its success statuses', async () => {
    const missing = await uncoveredOperations(agent(t.app));
    expect(missing, `seen: ${seenResponses().join(', ')}`).toEqual([]);
  });
});
