import { RedisStore } from 'connect-redis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisMfaStore } from '../../src/stores/redis.js';
import { codeOf, createTestApp, type TestApp } from '../helpers/app.js';
import { CookieJar } from '../helpers/browser-jar.js';
import { connectRedis, deletePrefix, uniquePrefix } from '../helpers/redis.js';
import { SmtpSink } from '../helpers/smtp.js';

const redis = await connectRedis();

describe.skipIf(!redis)('many app instances on one Redis', () => {
  let sink: SmtpSink;
  let a: TestApp;
  let b: TestApp;
  const prefix = uniquePrefix('instances');

  beforeAll(async () => {
    sink = await SmtpSink.start();
    // Two separate app objects, each with its own store object and session store, sharing only Redis.
    const instance = () =>
      createTestApp({
        sink,
        sessionStore: new RedisStore({ client: redis!, prefix: `${prefix}sess:` }),
        mfa: { store: new RedisMfaStore({ client: redis!, prefix }), limits: { sendLimit: 100 } },
      });
    a = instance();
    b = instance();
  });

  afterAll(async () => {
    await deletePrefix(redis!, prefix);
    await sink.close();
    await redis!.quit();
  });

  async function pair(jar: CookieJar, address: string) {
    const after = sink.count();
    expect((await jar.post(a.app, '/login', { username: 'alice', password: 'pw-alice' })).headers.location).toBe('/mfa/enroll');
    expect((await jar.submit(b.app, '/mfa/enroll', a.app, '/mfa/enroll')).status).toBe(303);
    const mail = await sink.next(address, { after });
    return jar.submit(a.app, '/mfa/enroll', b.app, '/mfa/enroll/verify', { otp: codeOf(mail.text) });
  }

  it('signs on with the password on A and the code on B; a device paired on A is listed on B', async () => {
    const first = new CookieJar();
    expect((await pair(first, 'alice@example.test')).headers.location).toBe('/');
    expect((await first.get(b.app, '/account')).text).toBe('account of alice');
    expect((await b.auth.devices.list('u1')).map((d) => d.status)).toEqual(['ACTIVE']);

    const jar = new CookieJar();
    const after = sink.count();
    expect((await jar.post(a.app, '/login', { username: 'alice', password: 'pw-alice' })).headers.location).toBe('/mfa/challenge');
    expect((await jar.get(b.app, '/account')).headers.location).toBe('/mfa/challenge');
    const mail = await sink.next('alice@example.test', { after });
    const done = await jar.submit(a.app, '/mfa/challenge', b.app, '/mfa/challenge', { otp: codeOf(mail.text) });
    expect(done.status).toBe(303);
    expect((await jar.get(a.app, '/account')).text).toBe('account of alice');
    expect((await jar.get(b.app, '/account')).text).toBe('account of alice');
  });

  it('50 parallel answers with the right code, spread over both instances, sign on exactly once; Redis never holds the code', async () => {
    const jar = new CookieJar();
    const after = sink.count();
    await jar.post(a.app, '/login', { username: 'alice', password: 'pw-alice' });
    const code = codeOf((await sink.next('alice@example.test', { after })).text);
    const csrf = /name="_mfa_csrf" value="([^"]+)"/.exec((await jar.get(b.app, '/mfa/challenge')).text)![1]!;

    const values: string[] = [];
    for await (const keys of redis!.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      for (const key of keys) {
        const type = await redis!.type(key);
        if (type === 'hash') values.push(JSON.stringify(await redis!.hGetAll(key)));
        else if (type === 'string') values.push((await redis!.get(key)) ?? '');
      }
    }
    expect(values.length).toBeGreaterThan(0);
    expect(values.join('\n')).not.toContain(code);

    const cookie = jar.header();
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        request((i % 2 ? a : b).app).post('/mfa/challenge').type('form').set('Cookie', cookie).send({ _mfa_csrf: csrf, otp: code }),
      ),
    );
    const signedOn = answers.filter((r) => r.status === 303 && r.headers.location === '/');
    expect(signedOn).toHaveLength(1);
  });

  it('counts wrong tries and the lockout across both instances', async () => {
    const users = ['bob'];
    for (const username of users) {
      const jar = new CookieJar();
      const after = sink.count();
      await jar.post(a.app, '/login', { username, password: 'pw-bob' });
      await jar.submit(a.app, '/mfa/enroll', b.app, '/mfa/enroll');
      const mail = await sink.next('bob@example.test', { after });
      await jar.submit(b.app, '/mfa/enroll', a.app, '/mfa/enroll/verify', { otp: codeOf(mail.text) });
    }
    const jar = new CookieJar();
    await jar.post(b.app, '/login', { username: 'bob', password: 'pw-bob' });
    const tries = [a, b, a].map((t) => t.app);
    const answers = [];
    for (const app of tries) answers.push(await jar.submit(app, '/mfa/challenge', app, '/mfa/challenge', { otp: '000000' }));
    expect(answers.map((r) => r.status)).toEqual([400, 400, 400]);
    expect(answers[2]!.text).toContain('cannot be used any more');
    const spent = await jar.submit(b.app, '/mfa/challenge', b.app, '/mfa/challenge', { otp: '000000' });
    expect(spent.text).toContain('Too many wrong tries');

    // 10 failures in all lock bob on every instance.
    let locked = spent;
    for (let i = 0; i < 4; i++) {
      const resend = await jar.submit(a.app, '/mfa/challenge', a.app, '/mfa/challenge/send', {});
      expect(resend.status).toBe(303);
      for (const app of [a.app, b.app]) locked = await jar.submit(app, '/mfa/challenge', app, '/mfa/challenge', { otp: '000000' });
    }
    expect(locked.status).toBe(423);
    expect((await jar.submit(b.app, '/mfa/challenge', b.app, '/mfa/challenge/send', {})).status).toBe(423);
    expect(await a.auth.store.getLock('u2', Date.now())).not.toBeNull();
  });
});
