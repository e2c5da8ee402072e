import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

export const TRUST_COOKIE = 'mfa_trust';
const FORMAT = /^([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/;

/** What a well-formed trust cookie says: which trusted browser, and its current token. */
export interface TrustCookieValue {
  id: string;
  token: string;
}

/**
 * The cookie of a trusted browser: `<id>.<token>.<sig>`. It names no user;
 * its signature covers the user id, so that a cookie of one user proves
 * nothing for another (and costs no store read). The token is checked
 * against the store's HMAC of it, and rotated on every use.
 */
export class TrustCookie {
  constructor(private readonly secret: Buffer) {}

  set(req: Request, res: Response, userId: string, id: string, token: string, expiresAt: number, now: number): void {
    res.cookie(TRUST_COOKIE, `${id}.${token}.${this.sign(userId, id, token)}`, {
      httpOnly: true,
      sameSite: 'lax',
      secure: req.secure,
      maxAge: Math.max(0, expiresAt - now),
      path: '/',
    });
  }

  clear(req: Request, res: Response): void {
    res.clearCookie(TRUST_COOKIE, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/' });
  }

  /** Whether the browser sent a cookie of the right shape (whatever its signature). */
  present(req: Request): boolean {
    const value = readCookie(req.headers.cookie, TRUST_COOKIE);
    return value !== undefined && FORMAT.test(value);
  }

  /** The browser's trust cookie when it is well formed and signed for this user, else null. Reads nothing from the store. */
  read(req: Request, userId: string): TrustCookieValue | null {
    const value = readCookie(req.headers.cookie, TRUST_COOKIE);
    const match = value ? FORMAT.exec(value) : null;
    if (!match) return null;
    const [, id, token, sig] = match as unknown as [string, string, string, string];
    const expected = Buffer.from(this.sign(userId, id, token));
    const given = Buffer.from(sig);
    return expected.length === given.length && timingSafeEqual(expected, given) ? { id, token } : null;
  }

  private sign(userId: string, id: string, token: string): string {
    return createHmac('sha256', this.secret).update(`trust-cookie\0${userId}\0${id}\0${token}`).digest('base64url');
  }
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
