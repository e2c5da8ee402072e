import { Client, csrfOf, Jar, type Reply } from './http.js';
import type { CodeSink } from './sink.js';

export const userName = (i: number) => `user${i}`;
export const userAddress = (i: number) => `user${i}@bench.test`;

function expect(reply: Reply, status: number, location: string | undefined, step: string): void {
  if (reply.status !== status || (location !== undefined && reply.headers.location !== location)) {
    throw new Error(`${step}: expected ${status}${location ? ` → ${location}` : ''}, got ${reply.status} ${reply.headers.location ?? ''} ${reply.body.slice(0, 160)}`);
  }
}

/** Runs `body` with a code promise that never goes unhandled, and forgets the address's mail when the flow fails. */
async function withCode<T>(sink: CodeSink, address: string, body: (code: Promise<string>) => Promise<T>): Promise<T> {
  const code = sink.next(address);
  code.catch(() => {});
  try {
    return await body(code);
  } catch (error) {
    sink.forget(address);
    throw error;
  }
}

/**
 * Ours: password POST → challenge page → code POST. Returns the signed-on jar and the code POST's time.
 * `headers` go with every request of the flow (an X-Forwarded-For, to sign on from an address of its own).
 */
export async function oursMfaSignOn(client: Client, sink: CodeSink, i: number, headers?: Record<string, string>): Promise<{ jar: Jar; codeMs: number }> {
  const jar = new Jar();
  return withCode(sink, userAddress(i), async (code) => {
    const login = await client.request('POST', '/login', { jar, headers, form: { username: userName(i), password: `pw${i}` } });
    expect(login, 303, '/mfa/challenge', 'password POST');
    const page = await client.request('GET', '/mfa/challenge', { jar, headers });
    expect(page, 200, undefined, 'challenge page');
    const csrf = csrfOf(page.body);
    const otp = await code;
    const started = performance.now();
    const answer = await client.request('POST', '/mfa/challenge', { jar, headers, form: { _mfa_csrf: csrf, otp } });
    const codeMs = performance.now() - started;
    expect(answer, 303, '/', 'code POST');
    return { jar, codeMs };
  });
}

/** Ours, password only: the same app's login route with a policy that skips MFA. */
export async function oursPasswordSignOn(client: Client, i: number): Promise<Jar> {
  const jar = new Jar();
  const login = await client.request('POST', '/login-password', { jar, form: { username: userName(i), password: `pw${i}` } });
  expect(login, 303, '/', 'password-only POST');
  return jar;
}

/** The baseline app's password sign-on (passport.authenticate('local') with sessions). */
export async function baselineSignOn(client: Client, i: number): Promise<Jar> {
  const jar = new Jar();
  const login = await client.request('POST', '/login', { jar, form: { username: userName(i), password: `pw${i}` } });
  expect(login, 302, '/', 'baseline password POST'); // Passport's own redirect
  return jar;
}

/** A pending sign-on that an attacker holds: signed in with the password, on the challenge page; `wrong` is never the code. */
export async function oursPendingSignOn(client: Client, sink: CodeSink, i: number): Promise<{ cookie: string; csrf: string; wrong: string }> {
  const jar = new Jar();
  return withCode(sink, userAddress(i), async (code) => {
    const login = await client.request('POST', '/login', { jar, form: { username: userName(i), password: `pw${i}` } });
    expect(login, 303, '/mfa/challenge', 'password POST');
    const page = await client.request('GET', '/mfa/challenge', { jar });
    expect(page, 200, undefined, 'challenge page');
    const real = await code;
    const wrong = `${(Number(real[0]) + 1) % 10}${real.slice(1)}`;
    return { cookie: jar.header()!, csrf: csrfOf(page.body), wrong };
  });
}

/** better-auth: sign-in/email → two-factor/send-otp → two-factor/verify-otp. */
export async function betterAuthSignOn(client: Client, sink: CodeSink, i: number): Promise<Jar> {
  const jar = new Jar();
  const headers = { origin: client.origin };
  const signIn = await client.request('POST', '/api/auth/sign-in/email', { jar, headers, json: { email: userAddress(i), password: `pw${i}-long-enough` } });
  if (signIn.status !== 200 || !signIn.body.includes('"twoFactorRedirect":true')) {
    throw new Error(`sign-in/email: expected a two-factor redirect, got ${signIn.status} ${signIn.body.slice(0, 160)}`);
  }
  return withCode(sink, userAddress(i), async (code) => {
    const send = await client.request('POST', '/api/auth/two-factor/send-otp', { jar, headers, json: {} });
    expect(send, 200, undefined, 'send-otp');
    const otp = await code;
    const verify = await client.request('POST', '/api/auth/two-factor/verify-otp', { jar, headers, json: { code: otp } });
    expect(verify, 200, undefined, 'verify-otp');
    if (!jar.get('better-auth.session_token')) throw new Error('verify-otp: no session cookie');
    return jar;
  });
}

export interface DriveResult {
  completed: number;
  errors: number;
  seconds: number;
  perSecond: number;
  /** Milliseconds per completed iteration. */
  latencies: number[];
  firstErrors: string[];
}

/**
 * `vus` virtual users, each running `iteration(vu)` back to back until
 * `seconds` have passed (or `maxIterations` in all). Bounded in time and count.
 */
export async function drive(
  seconds: number,
  vus: number,
  iteration: (vu: number) => Promise<unknown>,
  options: { maxIterations?: number } = {},
): Promise<DriveResult> {
  const maxIterations = options.maxIterations ?? 10_000_000;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const latencies: number[] = [];
  const firstErrors: string[] = [];
  let completed = 0;
  let errors = 0;
  let issued = 0;
  await Promise.all(
    Array.from({ length: vus }, async (_, vu) => {
      while (performance.now() < deadline && issued < maxIterations) {
        issued += 1;
        const t0 = performance.now();
        try {
          await iteration(vu);
          completed += 1;
          latencies.push(performance.now() - t0);
        } catch (error) {
          errors += 1;
          if (firstErrors.length < 5) firstErrors.push((error as Error).message);
          // back off a little so that a broken server does not spin the loop
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { completed, errors, seconds: elapsed, perSecond: completed / elapsed, latencies, firstErrors };
}
