import { RedisStore } from 'connect-redis';
import pg from 'pg';
import { createClient } from 'redis';
import { PostgresMfaStore, RedisMfaStore } from '../src/index.js';
import { createExampleApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const redisUrl = process.env.REDIS_URL;
const databaseUrl = process.env.DATABASE_URL;

async function redisStores() {
  if (!redisUrl) return {};
  // disableOfflineQueue: while Redis is down, commands fail at once and the
  // pages answer 503, instead of requests waiting for a reconnect.
  const client = createClient({ url: redisUrl, disableOfflineQueue: true });
  client.on('error', (error) => console.error(`redis: ${error.message}`));
  await client.connect();
  return {
    sessionStore: new RedisStore({ client, prefix: 'example:sess:' }),
    mfa: { store: new RedisMfaStore({ client, prefix: 'example:mfa:' }) },
  };
}

/** MFA state in PostgreSQL when DATABASE_URL is set; sessions stay where they were (Redis with REDIS_URL, else in memory). */
async function stores() {
  const given = await redisStores();
  if (!databaseUrl) return given;
  // The timeouts make a database that does not answer a 503 within seconds, instead of requests that hang.
  const pool = new pg.Pool({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000, query_timeout: 5_000 });
  pool.on('error', (error) => console.error(`postgres: ${error.message}`));
  const store = new PostgresMfaStore({ pool, tablePrefix: 'example_mfa_' });
  await store.migrate();
  setInterval(() => store.sweep().catch((error: Error) => console.error(`postgres sweep: ${error.message}`)), 10 * 60_000).unref();
  return { ...given, mfa: { store } };
}

function described(): string {
  const sessions = redisUrl ? `sessions in Redis at ${redisUrl}` : 'sessions in memory';
  const state = databaseUrl ? 'MFA state in PostgreSQL' : redisUrl ? 'MFA state in Redis' : 'MFA state in memory';
  return `${sessions}, ${state}`;
}

// No SMS gateway in the example: codes by text message and by voice call are printed here instead.
const phone = {
  sms: { send: async ({ to, text }: { to: string; text: string }) => console.log(`[sms to ${to}] ${text}`) },
  voice: { send: async ({ to, text }: { to: string; text: string }) => console.log(`[voice call to ${to}] ${text}`) },
};

const given = await stores();
const { app } = createExampleApp({ ...given, mfa: { ...given.mfa, methods: phone } });

app.listen(port, '127.0.0.1', () => {
  console.log(`express-mfa example app: http://localhost:${port}/ (${described()})`);
  console.log('Sign on as alice / alice-password: she pairs alice@example.test, and her codes are printed here.');
  console.log('Sign on as admin / admin-password: the policy lets the admin skip MFA.');
  console.log('Add a phone under "Your authentication methods": its text messages and calls are printed here too.');
});
