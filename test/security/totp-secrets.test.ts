/**
 * An authenticator app's secret is sealed at rest (AES-256-GCM under a key
 * derived from the library's secret) and shown only in the answer that
 * paired it: it is never in the store in plain text (memory, Redis or PostgreSQL), nor in
 * the session, the events or the logs, in any of its spellings.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresMfaStore } from '../../src/stores/postgres.js';
import { RedisMfaStore } from '../../src/stores/redis.js';
import { agent, createTestApp, enrollAndSignOn, login, submit, type TestApp } from '../helpers/app.js';
import { connectPostgres, createSchema, dropSchema } from '../helpers/postgres.js';
import { connectRedis, deletePrefix, uniquePrefix } from '../helpers/redis.js';
import { base32Decode, totpCode } from '../helpers/totp.js';
import { call } from '../api/openapi.js';
import { InspectableSessionStore, plain, useSink } from './support.js';

const sink = useSink();
const redis = await connectRedis();
const prefix = uniquePrefix('totp-secrets');
const pool = await connectPostgres();
const schema = pool ? await createSchema(pool, 'totp_secrets') : '';
afterAll(async () => {
  if (redis) {
    await deletePrefix(redis, prefix);
    await redis.quit();
  }
  if (pool) {
    await dropSchema(pool, schema);
    await pool.end();
  }
});

/** Every spelling of the secret that would give it away: base32, grouped, the raw key as hex and base64. */
function spellings(secret: string): string[] {
  const raw = base32Decode(secret);
  return [secret, secret.toLowerCase(), secret.replace(/(.{4})/g, '$1 ').trim(), raw.toString('hex'), raw.toString('base64'), raw.toString('base64url')];
}

async function pairOnPagesAndApi(t: TestApp) {
  const secrets: string[] = [];
  const u = t.users[0]!;
  const a = agent(t.app);
  expect((await enrollAndSignOn(a, sink(), u)).status).toBe(303);
  // By page (the key read off the page) and by API (the 201 answer).
  const added = await submit(a, '/mfa/devices/add?type=totp', '/mfa/devices/add', { type: 'totp', nickname: 'page' });
  const location = added.headers.location as string;
  const page = (await a.get(location)).text;
  const key = /id="mfa-totp-key">([A-Z2-7 ]+)</.exec(page)![1]!.replace(/ /g, '');
  secrets.push(key);
  expect((await submit(a, location, location, { otp: totpCode(key, Date.now()) })).status).toBe(303);
  const created = await call(a, 'post', '/devices', {}, { type: 'totp', nickname: 'api' });
  secrets.push(created.body.secret);
  // A wrong code and a sign-on answered with the app, so that answers are logged and audited too.
  await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: '000000' });
  const b = agent(t.app);
  await login(b, u.username, u.password);
  await submit(b, '/mfa/challenge', '/mfa/challenge/send', { deviceId: /\/mfa\/devices\/([^/]+)\/activate/.exec(location)![1]! });
  await submit(b, '/mfa/challenge', '/mfa/challenge', { otp: totpCode(key, Date.now() + 30_000) });
  return secrets;
}

function expectNowhere(haystacks: Record<string, string>, secrets: string[]) {
  for (const secret of secrets) {
    for (const spelling of spellings(secret)) {
      for (const [where, text] of Object.entries(haystacks)) expect(text.includes(spelling), `${spelling} in ${where}`).toBe(false);
    }
  }
}

describe('an app\'s secret is never kept or shown in plain text', () => {
  it('in the memory store, the session, the events and the logs', async () => {
    const sessionStore = new InspectableSessionStore();
    const t = createTestApp({ sink: sink(), sessionStore });
    const secrets = await pairOnPagesAndApi(t);
    const stored = JSON.stringify(plain((t.auth.store as any).users));
    expect(stored).toMatch(/"secret":"v1\./);
    expectNowhere({
      store: stored,
      sessions: sessionStore.raw,
      events: JSON.stringify(t.events),
      logs: JSON.stringify(t.logs.map((l) => [l.message, String(l.error ?? '')])),
    }, secrets);
  });

  it.skipIf(!redis)('in Redis: every key and value under the store\'s prefix', async () => {
    const t = createTestApp({ sink: sink(), mfa: { store: new RedisMfaStore({ client: redis!, prefix }) } });
    const secrets = await pairOnPagesAndApi(t);
    let dump = '';
    for await (const keys of redis!.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) {
      for (const key of keys) {
        const type = await redis!.type(key);
        const value = type === 'hash' ? await redis!.hGetAll(key)
          : type === 'string' ? await redis!.get(key)
            : type === 'set' ? await redis!.sMembers(key)
              : type === 'zset' ? await redis!.zRange(key, 0, -1)
                : type === 'list' ? await redis!.lRange(key, 0, -1) : `(${type})`;
        dump += `${key} ${JSON.stringify(value)}\n`;
      }
    }
    expect(dump).toMatch(/v1\./);
    expectNowhere({ redis: dump }, secrets);
  });

  it.skipIf(!pool)('in PostgreSQL: every row of every table of the store', async () => {
    const store = new PostgresMfaStore({ pool: pool!, schema });
    await store.migrate();
    const t = createTestApp({ sink: sink(), mfa: { store } });
    const secrets = await pairOnPagesAndApi(t);
    const tables = (await pool!.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [schema])).rows.map((r) => r.table_name as string);
    let dump = '';
    for (const table of tables) {
      for (const row of (await pool!.query(`SELECT row_to_json(t)::text AS line FROM "${schema}"."${table}" t`)).rows) dump += `${table} ${row.line}\n`;
    }
    expect(dump).toMatch(/v1\./);
    expectNowhere({ postgres: dump }, secrets);
  });

  it('a sealed secret copied onto another device of the store opens for neither: it is bound to its user and device', async () => {
    const t = createTestApp({ sink: sink() });
    const one = await t.auth.devices.create('u-seal-1', { type: 'totp' });
    const two = await t.auth.devices.create('u-seal-2', { type: 'totp' });
    const users = (t.auth.store as any).users as Map<string, { devices: Map<string, { data: Record<string, unknown> }> }>;
    const sealedOne = users.get('u-seal-1')!.devices.get(one.device.id)!.data.secret;
    users.get('u-seal-2')!.devices.get(two.device.id)!.data.secret = sealedOne;
    await expect(t.auth.devices.activate('u-seal-2', two.device.id, totpCode(one.pairing!.secret as string, Date.now()))).rejects.toMatchObject({ code: 'SEALED_SECRET_INVALID' });
  });
});
