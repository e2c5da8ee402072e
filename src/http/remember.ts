import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

const COOKIE = 'mfa_recent';
const FORMAT = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/;

/**
 * A signed cookie saying "this browser completed MFA for this user at T", so
 * that a policy with skipWithin can skip MFA on the next sign-on. It names
 * no user: the signature covers the user id, so it proves nothing for another,
 * and the user's security stamp, so that renewing the stamp (a change to the
 * user's methods, a block, auth.revoke) ends it.
 */
export class RecentMfaCookie {
  constructor(private readonly secret: Buffer) {}

  set(req: Request, res: Response, userId: string, stamp: string, at: number, maxAgeMs: number): void {
    res.cookie(COOKIE, `${at}.${this.sign(userId, stamp, at)}`, {
      httpOnly: true,
      sameSite: 'lax',
      secure: req.secure,
      maxAge: maxAgeMs,
      path: '/',
    });
  }

  /** Whether the browser sent a cookie worth checking (checking needs the user's stamp, a store read). */
  present(req: Request): boolean {
    const value = readCookie(req.headers.cookie, COOKIE);
    return value !== undefined && FORMAT.test(value);
  }

  /** When this browser last completed MFA for the user under this stamp, or null. */
  read(req: Request, userId: string, stamp: string): number | null {
    const value = readCookie(req.headers.cookie, COOKIE);
    const match = value ? FORMAT.exec(value) : null;
    if (!match) return null;
    const at = Number(match[1]);
    const expected = Buffer.from(this.sign(userId, stamp, at));
    const given = Buffer.from(match[2]!);
    return expected.length === given.length && timingSafeEqual(expected, given) ? at : null;
  }

  private sign(userId: string, stamp: string, at: number): string {
    return createHmac('sha256', this.secret).update(`recent-mfa\0${userId}\0${stamp}\0${at}`).digest('base64url');
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
