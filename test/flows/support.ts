import { vi } from 'vitest';
import type { Logger } from '../../src/index.js';
import type { Agent } from '../helpers/app.js';

export const MINUTE = 60_000;

/** Fakes Date only (timers, sockets and the SMTP sink keep real time) and starts it at the real now. */
export function fakeClock(): { advance(ms: number): void } {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date());
  return {
    advance(ms: number) {
      vi.setSystemTime(Date.now() + ms);
    },
  };
}

/** The session cookie value a response sets, if it sets one. */
export function sessionCookie(res: { headers: Record<string, unknown> }, name = 'connect.sid'): string | undefined {
  const header = res.headers['set-cookie'];
  const cookies = Array.isArray(header) ? (header as string[]) : typeof header === 'string' ? [header] : [];
  const found = cookies.find((c) => c.startsWith(`${name}=`));
  return found ? found.slice(name.length + 1).split(';')[0] : undefined;
}

/** The deviceId values of the "send a code" forms on a challenge page, in page order. */
export function deviceIdsOf(html: string): string[] {
  return [...html.matchAll(/name="deviceId" value="([^"]+)"/g)].map((m) => m[1]!);
}

/** The error message shown on a page (role="alert"), if any. */
export function alertOf(html: string): string | undefined {
  return /<p class="mfa-error" role="alert"[^>]*>([^<]*)<\/p>/.exec(html)?.[1];
}

/** The notice shown on a page (role="status"), if any. */
export function noticeOf(html: string): string | undefined {
  return /<p class="mfa-notice" role="status">([^<]*)<\/p>/.exec(html)?.[1];
}

export function quietLogger(): Logger & { lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  return {
    lines,
    info: (message) => lines.push({ level: 'info', message }),
    warn: (message) => lines.push({ level: 'warn', message }),
    error: (message) => lines.push({ level: 'error', message }),
  };
}

/** Whether the agent's session is signed on (the test app's /plain answers 200 only then). */
export async function isSignedOn(a: Agent): Promise<boolean> {
  return (await a.get('/plain')).status === 200;
}
