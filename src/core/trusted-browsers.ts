import { createHmac, randomBytes } from 'node:crypto';
import type { MfaStore, TrustedBrowserRecord } from '../stores/types.js';
import type { EventBus, RequestContext } from './events.js';

/** A browser the user trusts, as the pages, the API and the app's code see it: never its token. */
export interface TrustedBrowser {
  id: string;
  /** What the browser said it was when it was trusted ('Chrome on macOS'). */
  label: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
}

/** Who ended a trust: the user, an administrator (or the app's code), an old cookie that came back, or a change to the user's methods. */
export type TrustRevokedReason = 'user' | 'admin' | 'replayed' | 'changed';

/**
 * Trusted browsers ("Trust this browser" at sign-on): a record per browser
 * that skips MFA on later sign-ons of its user until it expires or is
 * revoked. The browser holds a random token; the store only its HMAC. Each
 * use rotates the token atomically, so that a copy of the cookie is good for
 * one sign-on at most, and an old token coming back (the copy or the
 * original, whichever is second) ends the trust.
 */
export class TrustedBrowsers {
  constructor(
    private readonly store: MfaStore,
    private readonly secret: Buffer,
    private readonly events: EventBus,
    private readonly now: () => number,
  ) {}

  /** Trusts a browser for ttlMs; the token goes to the browser only. */
  async trust(userId: string, label: string, ttlMs: number, context: RequestContext): Promise<{ id: string; token: string; expiresAt: number }> {
    const id = randomBytes(12).toString('base64url');
    const token = newToken();
    const at = this.now();
    const record: TrustedBrowserRecord = { id, userId, label, createdAt: at, lastUsedAt: at, expiresAt: at + ttlMs, tokenHash: this.hash(userId, id, token) };
    await this.store.saveTrustedBrowser(record);
    this.events.publish('browser.trusted', userId, context, { browserId: id });
    return { id, token, expiresAt: record.expiresAt };
  }

  /**
   * A sign-on from a trusted browser: its token is checked and rotated in one
   * step. Resolves with the browser's new token, or null when the browser is
   * not trusted (unknown, expired, or an old token: that ends the trust).
   */
  async use(userId: string, id: string, token: string, context: RequestContext): Promise<{ token: string; expiresAt: number } | null> {
    const next = newToken();
    const now = this.now();
    const result = await this.store.useTrustedBrowser(userId, id, this.hash(userId, id, token), this.hash(userId, id, next), now);
    if (result.status === 'replayed') {
      this.events.publish('browser.revoked', userId, context, { browserId: id, reason: 'replayed' });
      return null;
    }
    if (result.status !== 'ok' || result.browser.expiresAt <= now) return null;
    return { token: next, expiresAt: result.browser.expiresAt };
  }

  /** The user's trusted browsers that have not expired, the most recently used first. */
  async list(userId: string): Promise<TrustedBrowser[]> {
    return (await this.store.listTrustedBrowsers(userId, this.now())).map(view);
  }

  /** Ends one trust; false when the user has no such browser. */
  async revoke(userId: string, id: string, context: RequestContext, reason: TrustRevokedReason = 'user'): Promise<boolean> {
    const removed = await this.store.deleteTrustedBrowser(userId, id);
    if (removed) this.events.publish('browser.revoked', userId, context, { browserId: id, reason });
    return removed;
  }

  /** Ends every trust of the user; resolves with how many there were. */
  async revokeAll(userId: string, context: RequestContext, reason: TrustRevokedReason = 'user'): Promise<number> {
    const removed = await this.store.deleteTrustedBrowsers(userId);
    if (removed > 0) this.events.publish('browser.revoked', userId, context, { reason });
    return removed;
  }

  private hash(userId: string, id: string, token: string): string {
    return createHmac('sha256', this.secret).update(`trust\0${userId}\0${id}\0${token}`).digest('hex');
  }
}

function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function view(record: TrustedBrowserRecord): TrustedBrowser {
  return {
    id: record.id,
    label: record.label,
    createdAt: new Date(record.createdAt),
    lastUsedAt: new Date(record.lastUsedAt),
    expiresAt: new Date(record.expiresAt),
  };
}
