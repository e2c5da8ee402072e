import session from 'express-session';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresMfaStore } from '../../src/stores/postgres.js';
import { codeOf, createTestApp, type TestApp } from '../helpers/app.js';
import { CookieJar } from '../helpers/browser-jar.js';
import { connectPostgres, createSchema, dropSchema, poolOptions } from '../helpers/postgres.js';
import { SmtpSink } from '../helpers/smtp.js';

const admin = await connectPostgres();

describe.skipIf(!admin)('many app instances on one PostgreSQL', () => {
  let sink: SmtpSink;
  let schema: string;
  let a: TestApp;
  let b: TestApp;
  let c: TestApp;
  const pools: pg.Pool[] = [];

  beforeAll(async () => {
    sink = await SmtpSink.start();
    schema = await createSchema(admin!, 'instances');
    // Sessions are one store object the instances share (what is under test is the MFA state); each instance has its own pool and store.
    const sessionStore = new session.MemoryStore();
    const instance = () => {
      const pool = new pg.Pool(poolOptions());
      pool.on('error', () => {});
      pools.push(pool);
      return { store: new PostgresMfaStore({ pool, schema }), app: () => createTestApp({ sink, sessionStore, mfa: { store: new PostgresMfaStore({ pool, schema }), limits: { sendLimit: 100 } } }) };
    };
    const made = [instance(), instance(), instance()];
    // Each instance migrates at start-up, all at once, as a deployment starts them.
    await Promise.all(made.map((m) => m.store.migrate()));
    [a, b, c] = made.map((m) => m.app()) as [TestApp, TestApp, TestApp];
  });

  afterAll(async () => {
    await dropSchema(admin!, schema);
    await Promise.all([...pools, admin!].map((p) => p.end()));
    await sink.close();
  });

  /** Every value in the store's tables, as JSON lines. */
  async function dump(): Promise<string> {
    const names = (await admin!.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, [schema])).rows.map((r) => r.table_name as string);
    let out = '';
    for (const name of names) out += (await admin!.query(`SELECT row_to_json(t)::text AS line FROM "${schema}"."${name}" t`)).rows.map((r) => `${name} ${r.line}\n`).join('');
    return out;
  }

  async function pair(jar: CookieJar, username: string, address: string) {
    const after = sink.count();
    expect((await jar.post(a.app, '/login', { username, password: `pw-${username}` })).headers.location).toBe('/mfa/enroll');
    expect((await jar.submit(b.app, '/mfa/enroll', c.app, '/mfa/enroll')).status).toBe(303);
    const mail = await sink.next(address, { after });
    return jar.submit(c.app, '/mfa/enroll', b.app, '/mfa/enroll/verify', { otp: codeOf(mail.text) });
  }

  it('signs on with the password on A and the code on B; a device paired across instances is listed on C', async () => {
    expect((await pair(new CookieJar(), 'alice', 'alice@example.test')).headers.location).toBe('/');
    expect((await c.auth.devices.list('u1')).map((d) => d.status)).toEqual(['ACTIVE']);

    const jar = new CookieJar();
    const after = sink.count();
    expect((await jar.post(a.app, '/login', { username: 'alice', password: 'pw-alice' })).headers.location).toBe('/mfa/challenge');
    expect((await jar.get(c.app, '/account')).headers.location).toBe('/mfa/challenge');
    const mail = await sink.next('alice@example.test', { after });
    const done = await jar.submit(a.app, '/mfa/challenge', b.app, '/mfa/challenge', { otp: codeOf(mail.text) });
    expect(done.status).toBe(303);
    for (const t of [a, b, c]) expect((await jar.get(t.app, '/account')).text).toBe('account of alice');
  });

  it('50 parallel answers with the right code, spread over three instances, sign on exactly once; no table holds the code', async () => {
    const jar = new CookieJar();
    const after = sink.count();
    await jar.post(a.app, '/login', { username: 'alice', password: 'pw-alice' });
    const code = codeOf((await sink.next('alice@example.test', { after })).text);
    const csrf = /name="_mfa_csrf" value="([^"]+)"/.exec((await jar.get(b.app, '/mfa/challenge')).text)![1]!;

    const stored = await dump();
    expect(stored).toContain('mfa_challenges');
    expect(stored).not.toContain(code);

    const cookie = jar.header();
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => request([a, b, c][i % 3]!.app).post('/mfa/challenge').type('form').set('Cookie', cookie).send({ _mfa_csrf: csrf, otp: code })),
    );
    expect(answers.filter((r) => r.status === 303 && r.headers.location === '/')).toHaveLength(1);
  });

  it('parallel wrong answers over three instances spend only the code\'s tries; parallel resends send one code', async () => {
    expect((await pair(new CookieJar(), 'bob', 'bob@example.test')).headers.location).toBe('/');
    const jar = new CookieJar();
    const after = sink.count();
    await jar.post(b.app, '/login', { username: 'bob', password: 'pw-bob' });
    await sink.next('bob@example.test', { after });
    const csrf = /name="_mfa_csrf" value="([^"]+)"/.exec((await jar.get(c.app, '/mfa/challenge')).text)![1]!;
    const cookie = jar.header();
    const post = (i: number, path: string, fields: Record<string, string>) =>
      request([a, b, c][i % 3]!.app).post(path).type('form').set('Cookie', cookie).send({ _mfa_csrf: csrf, ...fields });

    await Promise.all(Array.from({ length: 30 }, (_, i) => post(i, '/mfa/challenge', { otp: '000000' })));
    // Three tries per code: three wrong answers were weighed and counted against bob, the rest refused unweighed.
    const [counted] = (await admin!.query(`SELECT failures_count FROM "${schema}".mfa_users WHERE user_id = 'u2'`)).rows;
    expect(counted).toEqual({ failures_count: 3 });
    const [challenge] = (await admin!.query(`SELECT attempts FROM "${schema}".mfa_challenges WHERE user_id = 'u2'`)).rows;
    expect(challenge).toEqual({ attempts: 3 });

    // Past the cooldown since the first code (moved back in time here), one resend passes; it starts the cooldown again for the others, whichever instance they reach.
    await admin!.query(`UPDATE "${schema}".mfa_challenges SET sent_at = sent_at - 60000 WHERE user_id = 'u2'`);
    const before = sink.count();
    const resends = await Promise.all(Array.from({ length: 12 }, (_, i) => post(i, '/mfa/challenge/resend', {})));
    expect(resends.every((r) => r.status === 303 || r.status === 429)).toBe(true);
    await sink.next('bob@example.test', { after: before });
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.count() - before).toBe(1);
  });
});
