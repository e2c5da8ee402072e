import { EventEmitter } from 'node:events';

/** Who asked: carried from the HTTP layer down so that events can say it. */
export interface RequestContext {
  ip?: string;
  userAgent?: string;
  /** The language for the emails this request causes. */
  locale?: string;
  /** The origin the request came to ('https://acme.test'), as the app sees it ('trust proxy' honoured). */
  origin?: string;
  /** Its host name, without port. */
  host?: string;
  /** A value bound to the request's session, for what must be answered in the session that asked (a WebAuthn ceremony). */
  binding?: () => string;
}

export type MfaEventType =
  | 'device.created'
  | 'device.activated'
  | 'device.renamed'
  | 'device.default'
  | 'device.reordered'
  | 'device.removed'
  | 'device.blocked'
  | 'device.unblocked'
  | 'otp.sent'
  | 'recovery.generated'
  | 'recovery.used'
  | 'mfa.succeeded'
  | 'mfa.failed'
  /** A passkey's signature counter went backwards: the authenticator may have been cloned. */
  | 'device.cloned'
  | 'user.locked'
  | 'user.unlocked'
  /** The user trusted this browser at sign-on ("Trust this browser"): it skips MFA until the trust ends. */
  | 'browser.trusted'
  /** A trusted browser no longer is: reason 'user', 'admin', 'replayed' (an old cookie came back) or 'changed' (the user's methods changed, or auth.revoke). */
  | 'browser.revoked'
  | 'signon.completed'
  | 'signon.refused';

/** An audit record. It never carries a code. */
export interface MfaEvent {
  type: MfaEventType;
  at: Date;
  userId: string;
  deviceId?: string;
  /** For browser.* events: the trusted browser's id. */
  browserId?: string;
  /** Why a step failed or was refused: an error code, or a policy outcome. */
  reason?: string;
  /** For sign-on events: the methods used, e.g. ['pwd', 'otp']. */
  amr?: string[];
  ip?: string;
  userAgent?: string;
}

/** Publishes audit events; a throwing listener is the app's bug, not a reason to fail a sign-on. */
export class EventBus extends EventEmitter {
  constructor(private readonly onListenerError: (error: unknown) => void) {
    super();
  }

  publish(type: MfaEventType, userId: string, context: RequestContext, extra: Partial<MfaEvent> = {}): void {
    const listeners = this.listeners('event') as Array<(event: MfaEvent) => unknown>;
    if (listeners.length === 0) return;
    const event: MfaEvent = { type, at: new Date(), userId, ...extra, ip: context.ip, userAgent: context.userAgent };
    // Each listener on its own, so that one that throws (or rejects) costs no other its event.
    for (const listener of listeners) {
      try {
        const result = listener(event);
        if (result instanceof Promise) result.catch(this.onListenerError);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
