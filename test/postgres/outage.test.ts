import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresMfaStore } from '../../src/stores/postgres.js';
import { codeOf, createTestApp, type TestApp } from '../helpers/app.js';
import { CookieJar } from '../helpers/browser-jar.js';
import { hasPostgresServer, PostgresServer } from '../helpers/postgres-server.js';
import { SmtpSink } from '../helpers/smtp.js';

const available = hasPostgresServer();
/** The pool settings the README recommends, short for a test: a database that does not answer is an error within a second. */
const TIMEOUT_MS = 1_000;

describe.skipIf(!available)('when PostgreSQL goes down or hangs, sign-on fails closed and recovers', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  let sink: SmtpSink;
  let t: TestApp;

  beforeAll(async () => {
    server = await PostgresServer.start();
    pool = new pg.Pool({ connectionString: server.url, connectionTimeoutMillis: TIMEOUT_MS, query_timeout: TIMEOUT_MS });
    pool.on('error', () => {});
    sink = await SmtpSink.start();
    const store = new PostgresMfaStore({ pool });
    await store.migrate();
    t = createTestApp({ sink, mfa: { store }, routes: (app, auth) => app.use(auth.errorHandler()) });
  }, 30_000);

  afterAll(async () => {
    await pool?.end().catch(() => {});
    await sink?.close();
    await server?.destroy();
  });

  async function pairAlice() {
    const jar = new CookieJar();
    const after = sink.count();
    await jar.post(t.app, '/login', { username: 'alice', password: 'pw-alice' });
    await jar.submit(t.app, '/mfa/enroll', t.app, '/mfa/enroll');
    const mail = await sink.next('alice@example.test', { after });
    const done = await jar.submit(t.app, '/mfa/enroll', t.app, '/mfa/enroll/verify', { otp: codeOf(mail.text) });
    expect(done.headers.location).toBe('/');
    return jar;
  }

  async function signOn(jar: CookieJar) {
    const after = sink.count();
    expect((await jar.post(t.app, '/login', { username: 'alice', password: 'pw-alice' })).headers.location).toBe('/mfa/challenge');
    return codeOf((await sink.next('alice@example.test', { after })).text);
  }

  function expectRefused(res: { status: number; text: string }) {
    expect(res.status).toBe(503);
    expect(res.text).toContain('try again shortly');
  }

  it('before the password step: a 503 page, nothing signed on; then it works again without a restart', async () => {
    await pairAlice();
    await server.stop();
    const jar = new CookieJar();
    expectRefused(await jar.post(t.app, '/login', { username: 'alice', password: 'pw-alice' }));
    expect((await jar.get(t.app, '/account')).status).not.toBe(200);
    expect(t.logs.some((l) => l.level === 'error')).toBe(true);

    await server.resume();
    const code = await signOn(jar);
    await jar.submit(t.app, '/mfa/challenge', t.app, '/mfa/challenge', { otp: codeOf(`code ${code}`) });
    expect((await jar.get(t.app, '/account')).text).toBe('account of alice');
  });

  it('between the steps: the code step fails closed, and the same code works once PostgreSQL is back', async () => {
    const jar = new CookieJar();
    const code = await signOn(jar);
    const csrf = /name="_mfa_csrf" value="([^"]+)"/.exec((await jar.get(t.app, '/mfa/challenge')).text)![1]!;

    await server.stop();
    expectRefused(await jar.post(t.app, '/mfa/challenge', { _mfa_csrf: csrf, otp: code }));
    expect((await jar.get(t.app, '/account')).status).not.toBe(200);

    await server.resume();
    expect((await jar.post(t.app, '/mfa/challenge', { _mfa_csrf: csrf, otp: code })).status).toBe(303);
    expect((await jar.get(t.app, '/account')).text).toBe('account of alice');
  });

  it('inside the code check: 503 and not signed on, nothing counted; after recovery the code still signs on once', async () => {
    const jar = new CookieJar();
    const code = await signOn(jar);
    const errorsBefore = t.logs.filter((l) => l.level === 'error').length;

    // Another session holds the user's row, so that the code check, one statement, waits inside the database;
    // the server then stops under it: an outage in the middle of the step.
    const holder = new pg.Client({ connectionString: server.url });
    holder.on('error', () => {});
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM mfa_users WHERE user_id = 'u1' FOR UPDATE`);
    const answer = jar.submit(t.app, '/mfa/challenge', t.app, '/mfa/challenge', { otp: code });
    await waitUntil(async () => (await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'`)).rows[0].n > 0);
    await server.stop();
    expectRefused(await answer);
    await holder.end().catch(() => {});
    const logged = t.logs.filter((l) => l.level === 'error').slice(errorsBefore);
    expect(logged.length).toBeGreaterThan(0);
    // The logger gets the database's own error, the cause of the 503.
    expect(String((logged[0]!.error as Error)?.message ?? logged[0]!.error)).toMatch(/terminat|ECONNREFUSED|Connection/i);

    await server.resume();
    // The statement died with its connection: the try it began is not spent.
    expect((await pool.query(`SELECT attempts FROM mfa_challenges WHERE user_id = 'u1'`)).rows).toEqual([{ attempts: 0 }]);
    expect((await jar.get(t.app, '/account')).headers.location).toBe('/mfa/challenge');
    expect((await jar.submit(t.app, '/mfa/challenge', t.app, '/mfa/challenge', { otp: code })).status).toBe(303);
    expect((await jar.get(t.app, '/account')).text).toBe('account of alice');
  });

  it('a database that hangs: 503 within the pool\'s timeouts, not signed on; once it answers again the same instance signs on', async () => {
    const jar = new CookieJar();
    const code = await signOn(jar);
    const csrf = /name="_mfa_csrf" value="([^"]+)"/.exec((await jar.get(t.app, '/mfa/challenge')).text)![1]!;

    server.freeze();
    try {
      const started = Date.now();
      expectRefused(await jar.post(t.app, '/mfa/challenge', { _mfa_csrf: csrf, otp: code }));
      expect(Date.now() - started).toBeLessThan(4 * TIMEOUT_MS);
      expectRefused(await new CookieJar().post(t.app, '/login', { username: 'alice', password: 'pw-alice' }));
    } finally {
      server.thaw();
    }
    expect((await jar.post(t.app, '/mfa/challenge', { _mfa_csrf: csrf, otp: code })).status).toBe(303);
    expect((await jar.get(t.app, '/account')).text).toBe('account of alice');
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting for the code check to wait on the row lock');
    await new Promise((r) => setTimeout(r, 20));
  }
}
