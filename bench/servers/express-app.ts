/**
 * The app under test, in its own process: Express + express-session +
 * passport-local, with express-mfa mounted ('ours') or without it
 * ('baseline': routes check req.isAuthenticated() only). The password check
 * is a plain string compare in both, so that no figure measures a hash.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { RedisStore } from 'connect-redis';
import { createClient, type RedisClientType } from 'redis';
import { mfa, MemoryMfaStore, RedisMfaStore, type MfaStore } from '../../src/index.js';
import { benchTransport } from '../lib/mail.js';
import { serveCommands, serverConfig } from '../lib/server.js';

export interface ExpressAppConfig {
  variant: 'ours' | 'baseline';
  sessions: 'memory' | 'redis';
  mfaStore: 'memory' | 'redis';
  /** Users user0…user{n-1}, password pw{i}, address user{i}@bench.test. */
  users: number;
  /** Users that get an ACTIVE email device before the measurement. */
  pairedUsers?: number;
  smtpPort?: number;
  /** Nagle's algorithm off on the transport's sockets (see lib/mail.ts). Default true. */
  smtpNoDelay?: boolean;
  redisUrl?: string;
  /** Prefix of every Redis key this server makes (sessions and MFA state); deleted on stop. */
  redisPrefix?: string;
  /** Express's trust proxy, so that X-Forwarded-For gives each simulated client an address of its own. Default: off. */
  trustProxy?: string;
  /** mfa()'s rateLimit. Default { limit: 1e9 }: counted, as in production, but never refusing a scenario's one address. */
  rateLimit?: { limit?: number; window?: string } | false;
  /** Mounts auth.rateLimit before session(), as the README suggests. Default false. */
  earlyRateLimit?: boolean;
}

interface BenchUser {
  id: string;
  username: string;
  password: string;
  email: string;
}

const config = serverConfig<ExpressAppConfig>();
const SECRET = 'bench-secret-that-is-at-least-32-bytes-long!!';

async function main() {
  const users = new Map<string, BenchUser>();
  const byId = new Map<string, BenchUser>();
  for (let i = 0; i < config.users; i++) {
    const user = { id: `u${i}`, username: `user${i}`, password: `pw${i}`, email: `user${i}@bench.test` };
    users.set(user.username, user);
    byId.set(user.id, user);
  }

  let redis: RedisClientType | undefined;
  if (config.sessions === 'redis' || config.mfaStore === 'redis') {
    redis = createClient({ url: config.redisUrl ?? 'redis://127.0.0.1:6379' }) as RedisClientType;
    redis.on('error', (error) => console.error('[bench server] redis:', error.message));
    await redis.connect();
  }
  const prefix = config.redisPrefix ?? `bench:${process.pid}:`;

  const app = express();
  app.set('etag', false);
  if (config.trustProxy !== undefined) app.set('trust proxy', config.trustProxy);
  // auth.rateLimit once mfa() is made, below: in front of the body parser and the session.
  let early: express.RequestHandler = (_req, _res, next) => next();
  if (config.earlyRateLimit) app.use((req, res, next) => early(req, res, next));
  const authenticator = new passport.Passport();
  authenticator.use(
    new LocalStrategy((username, password, done) => {
      const user = users.get(username);
      // The cheap check both apps share: a plain compare, no hash.
      done(null, user && user.password === password ? user : false);
    }),
  );
  authenticator.serializeUser((user, done) => done(null, (user as BenchUser).id));
  authenticator.deserializeUser((id: string, done) => done(null, byId.get(id) ?? false));

  const sessionStore = config.sessions === 'redis' ? new RedisStore({ client: redis!, prefix: `${prefix}sess:` }) : new session.MemoryStore();
  app.use(express.urlencoded({ extended: false }));
  app.use(session({ secret: 'bench-session-secret', resave: false, saveUninitialized: false, store: sessionStore }));
  app.use(authenticator.session());

  let store: MfaStore | undefined;
  const transport = config.smtpPort ? benchTransport(config.smtpPort, config.smtpNoDelay ?? true) : undefined;

  if (config.variant === 'ours') {
    store = config.mfaStore === 'redis' ? new RedisMfaStore({ client: redis!, prefix: `${prefix}mfa:` }) : new MemoryMfaStore();
    const auth = mfa<BenchUser>({
      secret: SECRET,
      passport: authenticator,
      store,
      user: { id: (u) => u.id, email: (u) => u.email },
      email: { transport: transport ?? { sendMail: async () => undefined }, from: 'Bench <no-reply@bench.test>' },
      // The password-only sign-on of the same app: a named policy that skips MFA.
      policies: { password: { skip: () => true } },
      // Each virtual user signs on many times a second; the default 5 codes per 15 minutes would stop it.
      limits: { sendLimit: 1_000_000_000 },
      rateLimit: config.rateLimit ?? { limit: 1_000_000_000 },
      logger: { info: () => {}, warn: (m) => console.warn(`[bench server] ${m}`), error: (m, e) => console.error(`[bench server] ${m}`, e) },
    });
    if (config.earlyRateLimit) early = auth.rateLimit;
    app.use(auth);
    app.post('/login', auth.authenticate('local', { failureRedirect: '/login' }));
    app.post('/login-password', auth.authenticate('local', { policy: 'password', failureRedirect: '/login' }));
    app.get('/account', auth.required(), (req, res) => {
      res.send(`account of ${(req.user as BenchUser).username}`);
    });
    app.use(auth.errorHandler());

    // Devices paired before the measurement, straight into the store.
    const now = Date.now();
    const paired = config.pairedUsers ?? config.users;
    const ids = [...byId.values()].slice(0, paired);
    for (let i = 0; i < ids.length; i += 200) {
      await Promise.all(
        ids.slice(i, i + 200).map((user) =>
          store!.insertDevice(
            {
              id: `d-${user.id}`,
              userId: user.id,
              type: 'email',
              data: { email: user.email },
              nickname: null,
              status: 'ACTIVE',
              createdAt: now,
              updatedAt: now,
              activatedAt: now,
              activationChallengeId: null,
            },
            5,
          ),
        ),
      );
    }
  } else {
    app.post('/login', authenticator.authenticate('local', { successRedirect: '/', failureRedirect: '/login' }));
    app.get('/account', (req, res) => {
      if (!req.isAuthenticated()) {
        res.redirect(303, '/login');
        return;
      }
      res.send(`account of ${(req.user as BenchUser).username}`);
    });
  }
  app.get('/login', (_req, res) => res.send('login page'));

  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  server.keepAliveTimeout = 60_000;

  async function deletePrefix() {
    if (!redis?.isReady) return;
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await redis.del(keys);
    }
  }

  serveCommands(
    {
      /** CPU time this process has used, in microseconds (user + system). */
      cpu: () => {
        const { user, system } = process.cpuUsage();
        return { micros: user + system };
      },
      /** Drops every session (between rounds, so that all rounds start alike). */
      reset: async () => {
        if (config.sessions === 'memory') await new Promise<void>((r) => (sessionStore as session.MemoryStore).clear(() => r()));
        return {};
      },
      /** Bytes Redis uses for one session, by its id. */
      sessionBytes: async (payload) => {
        if (!redis) return { bytes: null };
        const bytes = await redis.memoryUsage(`${prefix}sess:${String(payload.sid)}`, { SAMPLES: 0 });
        return { bytes };
      },
      memory: () => ({ rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed }),
    },
    async () => {
      server.closeAllConnections();
      server.close();
      transport?.close();
      (store as MemoryMfaStore | undefined)?.close?.();
      await deletePrefix().catch(() => {});
      if (redis?.isReady) await redis.quit().catch(() => {});
    },
  );
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
}

main().catch((error) => {
  process.send?.({ type: 'failed', error: (error as Error).stack ?? String(error) });
  setTimeout(() => process.exit(1), 50);
});
