import { RedisStore } from 'connect-redis';
import { createClient, type RedisClientType } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisMfaStore } from '../../src/stores/redis.js';
import type { MfaStore } from '../../src/stores/types.js';
import { codeOf, createTestApp, type TestApp } from '../helpers/app.js';
import { CookieJar } from '../helpers/browser-jar.js';
import { hasRedisServer, RedisServer } from '../helpers/redis-server.js';
import { SmtpSink } from '../helpers/smtp.js';

const available = hasRedisServer();

describe.skipIf(!available)('when Redis goes down, sign-on fails closed and recovers', () => {
  let server: RedisServer;
  let client: RedisClientType;
  let sink: SmtpSink;
  let t: TestApp;
  /** Set to stop Redis right before the store's next attemptChallenge: an outage in the middle of a step. */
  let stopBeforeAttempt = false;

  async function down() {
    await server.stop();
    while (client.isReady) await new Promise((r) => setTimeout(r, 20));
  }

  async function up() {
    await server.resume();
    while (!client.isReady) await new Promise((r) => setTimeout(r, 20));
  }

  beforeAll(async () => {
    // AOF, so that paired devices and sessions survive the restarts, as the README's production setup says.
    server = await RedisServer.start(['--appendonly', 'yes', '--appendfsync', 'always']);
    client = createClient({ url: server.url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 50 } }) as RedisClientType;
    client.on('error', () => {});
    await client.connect();
    sink = await SmtpSink.start();
    const real = new RedisMfaStore({ client });
    const store = new Proxy(real, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name !== 'attemptChallenge') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: Parameters<MfaStore['attemptChallenge']>) => {
          if (stopBeforeAttempt) {
            stopBeforeAttempt = false;
            await down();
          }
          return target.attemptChallenge(...args);
        };
      },
    });
    t = createTestApp({ sink, sessionStore: new RedisStore({ client }), mfa: { store }, routes: (app, auth) => app.use(auth.errorHandler()) });
  }, 30_000);

  afterAll(async () => {
    await client?.quit().catch(() => {});
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

  it('before the password step: a 503 page, nothing signed on; then it works again without a restart', async () => {
    await pairAlice();
    await down();
    const jar = new CookieJar();
    const refused = await jar.post(t.app, '/login', { username: 'alice', password: 'pw-alice' });
    expect(refused.status).toBe(503);
    expect(refused.text).toContain('try again shortly');
    expect((await jar.get(t.app, '/account')).status).not.toBe(200);
    expect(t.logs.some((l) => l.level === 'error')).toBe(true);

    await up();
    const after = sink.count();
    expect((await jar.post(t.app, '/login', { username: 'alice', password: 'pw-alice' })).headers.location).toBe('/mfa/challenge');
    const mail = await sink.next('alice@example.test', { after });
    await jar.submit(t.app, '/mfa/challenge', t.app, '/mfa/challenge', { otp: codeOf(mail.text) });
    expect((await jar.get(t.app, '/account')).text).toBe('account of alice');
  });

  it('between the steps: the code step fails closed, and the same code works once Redis is back', async () => {
    const jar = new CookieJar();
    const after = sink.count();
    expect((await jar.post(t.app, '/login', { username: 'alice', password: 'pw-alice' })).headers.location).toBe('/mfa/challenge');
    const code = codeOf((await sink.next('alice@example.test', { after })).text);
    const page = (await jar.get(t.app, '/mfa/challenge')).text;
    const csrf = /name="_mfa_csrf" value="([^"]+)"/.exec(page)![1]!;

    await down();
    const refused = await jar.post(t.app, '/mfa/challenge', { _mfa_csrf: csrf, otp: code });
    expect(refused.status).toBe(503);
    expect(refused.text).toContain('try again shortly');

    await up();
    const done = await jar.post(t.app, '/mfa/challenge', { _mfa_csrf: csrf, otp: code });
    expect(done.status).toBe(303);
    expect((await jar.get(t.app, '/account')).text).toBe('account of alice');
  });

  it('during the code check: 503 and not signed on; after recovery the code still signs on once', async () => {
    const jar = new CookieJar();
    const after = sink.count();
    await jar.post(t.app, '/login', { username: 'alice', password: 'pw-alice' });
    const code = codeOf((await sink.next('alice@example.test', { after })).text);
    const errorsBefore = t.logs.filter((l) => l.level === 'error').length;

    stopBeforeAttempt = true;
    const refused = await jar.submit(t.app, '/mfa/challenge', t.app, '/mfa/challenge', { otp: code });
    expect(refused.status).toBe(503);
    expect(refused.text).toContain('try again shortly');
    const logged = t.logs.filter((l) => l.level === 'error').slice(errorsBefore);
    expect(logged.length).toBeGreaterThan(0);
    expect(String((logged[0]!.error as Error)?.message ?? logged[0]!.error)).toMatch(/not connected|closed|ECONNREFUSED|offline/i);

    await up();
    expect((await jar.get(t.app, '/account')).headers.location).toBe('/mfa/challenge');
    expect((await jar.submit(t.app, '/mfa/challenge', t.app, '/mfa/challenge', { otp: code })).status).toBe(303);
    expect((await jar.get(t.app, '/account')).text).toBe('account of alice');
  });

  it('with the session store down, no protected route answers 200', async () => {
    const jar = await pairAliceAgain();
    expect((await jar.get(t.app, '/account')).status).toBe(200);
    await down();
    for (const path of ['/account', '/plain', '/payees', '/mfa/devices', '/api/me']) {
      const res = await jar.get(t.app, path);
      expect(res.status, path).toBe(503);
    }
    await up();
    expect((await jar.get(t.app, '/account')).status).toBe(200);
  });

  async function pairAliceAgain() {
    const jar = new CookieJar();
    const after = sink.count();
    await jar.post(t.app, '/login', { username: 'alice', password: 'pw-alice' });
    const mail = await sink.next('alice@example.test', { after });
    await jar.submit(t.app, '/mfa/challenge', t.app, '/mfa/challenge', { otp: codeOf(mail.text) });
    return jar;
  }
});
