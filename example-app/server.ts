import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { RedisMfaStore } from '../src/index.js';
import { createExampleApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const redisUrl = process.env.REDIS_URL;

async function stores() {
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

// No SMS gateway in the example: codes by text message and by voice call are printed here instead.
const phone = {
  sms: { send: async ({ to, text }: { to: string; text: string }) => console.log(`[sms to ${to}] ${text}`) },
  voice: { send: async ({ to, text }: { to: string; text: string }) => console.log(`[voice call to ${to}] ${text}`) },
};

const given = await stores();
const { app } = createExampleApp({ ...given, mfa: { ...given.mfa, methods: phone } });

app.listen(port, '127.0.0.1', () => {
  console.log(`express-mfa example app: http://localhost:${port}/ (${redisUrl ? `sessions and MFA state in Redis at ${redisUrl}` : 'in-memory stores'})`);
  console.log('Sign on as alice / alice-password: she pairs alice@example.test, and her codes are printed here.');
  console.log('Sign on as admin / admin-password: the policy lets the admin skip MFA.');
  console.log('Add a phone under "Your authentication methods": its text messages and calls are printed here too.');
});
