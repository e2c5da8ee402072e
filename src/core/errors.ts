/**
 * Every error the library raises on purpose is an MfaError with a stable
 * `code`: the JSON API returns it as is, pages choose their message by it, and
 * apps can branch on it without parsing messages.
 */
export type MfaErrorCode =
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'LIMIT_EXCEEDED'
  | 'DEVICE_EXISTS'
  | 'INVALID_OTP'
  | 'OTP_EXPIRED'
  | 'TOO_MANY_ATTEMPTS'
  | 'LOCKED'
  | 'RESEND_TOO_SOON'
  | 'SEND_LIMIT_EXCEEDED'
  | 'RATE_LIMITED'
  | 'DELIVERY_FAILED'
  | 'STORE_UNAVAILABLE'
  | 'NO_DEVICE'
  | 'MFA_REQUIRED'
  | 'CSRF_FAILED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BAD_REQUEST';

export class MfaError extends Error {
  readonly code: MfaErrorCode;
  /** HTTP status the router answers with. */
  readonly status: number;
  /** The message catalog key (after 'error.') that pages show for it: the code, or a variant such as 'NOT_FOUND.device'. */
  readonly key: string;

  constructor(code: MfaErrorCode, message: string, status: number, options?: { cause?: unknown; key?: string }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.key = options?.key ?? code;
  }

  /** Extra fields for API clients; never secrets. */
  details(): Record<string, unknown> {
    return {};
  }

  /** Values for the translated message. */
  vars(): Record<string, string | number> {
    return this.details() as Record<string, string | number>;
  }
}

export class ValidationError extends MfaError {
  constructor(
    message: string,
    readonly field?: string,
    private readonly values: Record<string, string | number> = {},
  ) {
    super('VALIDATION_FAILED', message, 400, { key: field ? `VALIDATION_FAILED.${field}` : 'VALIDATION_FAILED' });
  }
  override details() {
    return this.field ? { field: this.field } : {};
  }
  override vars() {
    return { ...this.values };
  }
}

export class NotFoundError extends MfaError {
  /** `what` picks the message pages show: a device, an ended sign-on, no active device, a vanished account. */
  constructor(message = 'Not found.', what?: 'device' | 'ended' | 'noDevice' | 'account' | 'browser') {
    super('NOT_FOUND', message, 404, { key: what ? `NOT_FOUND.${what}` : 'NOT_FOUND' });
  }
}

export class LimitExceededError extends MfaError {
  constructor(readonly limit: number) {
    super('LIMIT_EXCEEDED', `A user can have at most ${limit} authentication methods.`, 409);
  }
  override details() {
    return { limit: this.limit };
  }
}

export class DeviceExistsError extends MfaError {
  constructor() {
    super('DEVICE_EXISTS', 'This address is already one of your authentication methods.', 409);
  }
}

export class OtpError extends MfaError {
  constructor(
    code: 'INVALID_OTP' | 'OTP_EXPIRED' | 'TOO_MANY_ATTEMPTS',
    message: string,
    readonly remainingAttempts?: number,
    variant?: 'last' | 'device' | 'recovery' | 'app' | 'replayed' | 'passkey',
  ) {
    super(code, message, 400, { key: variant ? `${code}.${variant}` : code });
  }
  override details() {
    return this.remainingAttempts === undefined ? {} : { remainingAttempts: this.remainingAttempts };
  }
}

export class LockedError extends MfaError {
  constructor(readonly lockedUntil: number) {
    super('LOCKED', 'Too many wrong codes. Multi-factor sign-on is locked for a while.', 423);
  }
  override details() {
    return { lockedUntil: new Date(this.lockedUntil).toISOString() };
  }
  override vars() {
    return {};
  }
}

const RATE_MESSAGES = {
  RESEND_TOO_SOON: (seconds: number) => `Please wait ${seconds} seconds before asking for another code.`,
  SEND_LIMIT_EXCEEDED: () => 'Too many codes were sent. Please try again later.',
  // Per client address, across users: a flood from one address must not lock anyone out, so it is refused before any check.
  RATE_LIMITED: (seconds: number) => `Too many requests from your network. Please wait ${seconds} seconds and try again.`,
};

export class RateLimitError extends MfaError {
  constructor(
    code: keyof typeof RATE_MESSAGES,
    /** Seconds until a send (RATE_LIMITED: a request) is allowed again; also the Retry-After header. */
    readonly retryAfter: number,
  ) {
    super(code, RATE_MESSAGES[code](retryAfter), 429);
  }
  override details() {
    return { retryAfter: this.retryAfter };
  }
}

export class DeliveryError extends MfaError {
  constructor(cause: unknown) {
    super('DELIVERY_FAILED', 'The code could not be sent. Please try again.', 503, { cause });
  }
}

export class StoreUnavailableError extends MfaError {
  constructor(cause: unknown) {
    super('STORE_UNAVAILABLE', 'The sign-on service is unavailable. Please try again shortly.', 503, { cause });
  }
}

/** The API's answer to a request with no signed-on session. */
export class UnauthenticatedError extends MfaError {
  constructor() {
    super('UNAUTHENTICATED', 'Sign on first.', 401);
  }
}

/** A signed-on user asking for what is not theirs (another user's devices without admin rights, a cross-site write). */
export class ForbiddenError extends MfaError {
  constructor(message = 'You may not do this.') {
    super('FORBIDDEN', message, 403);
  }
}

export class UnsupportedMediaTypeError extends MfaError {
  constructor() {
    super('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as JSON, with Content-Type: application/json.', 415);
  }
}

/**
 * A request the client got wrong before any check of the library's own: a
 * body too large or in an unknown Content-Encoding, a path that is not valid
 * percent-encoding. It wraps an error of the layers below (body-parser,
 * Express's router, http-errors) and answers with that error's 4xx status:
 * anyone can send such a request, so it must never look like an outage.
 */
export class BadRequestError extends MfaError {
  constructor(status: number, cause: unknown) {
    if (!Number.isInteger(status) || status < 400 || status > 499) throw new RangeError(`BadRequestError needs a 4xx status; got ${status}.`);
    const tooLarge = status === 413;
    super('BAD_REQUEST', tooLarge ? 'The request is too large.' : 'The request is not valid.', status, {
      cause,
      key: tooLarge ? 'BAD_REQUEST.tooLarge' : 'BAD_REQUEST',
    });
  }
}

/** A change to the user's methods, or a step-up route, needs a fresh MFA first. */
export class MfaRequiredError extends MfaError {
  constructor() {
    super('MFA_REQUIRED', 'Confirm it is you with a one-time passcode first.', 401);
  }
}

export class NoDeviceError extends MfaError {
  constructor() {
    super(
      'NO_DEVICE',
      'Your account has no authentication method, and signing on requires one. Please contact your administrator.',
      403,
    );
  }
}
