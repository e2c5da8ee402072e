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
import pg from 'pg';
import { createClient, type RedisClientType } from 'redis';
import { mfa, MemoryMfaStore, PostgresMfaStore, RedisMfaStore, type MailMessage, type MfaStore, type PostgresPool, type RedisScriptClient } from '../../src/index.js';
import { benchTransport } from '../lib/mail.js';
import { serveCommands, serverConfig } from '../lib/server.js';

export interface ExpressAppConfig {
  variant: 'ours' | 'baseline';
  sessions: 'memory' | 'redis';
  mfaStore: 'memory' | 'redis' | 'postgres';
  /** Users user0…user{n-1}, password pw{i}, address user{i}@bench.test. */
  users: number;
  /** Users that get an ACTIVE email device before the measurement. */
  pairedUsers?: number;
  smtpPort?: number;
  /** Nagle's algorithm off on the transport's sockets (see lib/mail.ts). Default true. */
  smtpNoDelay?: boolean;
  redisUrl?: string;
  /** PostgreSQL for mfaStore 'postgres'; the server makes a schema of its own and drops it on stop. */
  databaseUrl?: string;
  /** Prefix of every Redis key this server makes (sessions and MFA state); deleted on stop. */
  redisPrefix?: string;
  /** Count the MFA store's steps and the calls its Redis client sends (the floor's count pass). */
  countStoreCalls?: boolean;
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

const sent: Record<string, number> = {};
const steps: Record<string, number> = {};
const tally = (counts: Record<string, number>, name: string) => {
  counts[name] = (counts[name] ?? 0) + 1;
};

/** The Redis client as the MFA store sees it, counting what it sends: each call is one round trip. */
function counting(client: RedisClientType): RedisScriptClient {
  return {
    evalSha: (sha, options) => (tally(sent, 'evalsha'), client.evalSha(sha, options)),
    eval: (script, options) => (tally(sent, 'eval'), client.eval(script, options)),
    get isReady() {
      return client.isReady;
    },
  };
}

const sessionCalls: Record<string, number> = {};

/** The session store, counting what express-session and Passport ask of it. */
function countingSessions(store: session.Store): void {
  const methods = store as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of ['get', 'set', 'destroy', 'touch'] as const) {
    const original = methods[name]!.bind(store);
    methods[name] = (...args: unknown[]) => (tally(sessionCalls, name), original(...args));
  }
}

/** The pool as the MFA store sees it, counting the statements it sends (BEGIN and COMMIT too): each is one round trip. */
function countingPool(pool: pg.Pool): PostgresPool {
  return {
    query: (text: string, values?: unknown[]) => (tally(sent, 'query'), pool.query(text, values)),
    connect: async () => {
      const client = await pool.connect();
      return {
        query: (text: string, values?: unknown[]) => (tally(sent, 'query'), client.query(text, values)),
        release: (error?: Error | boolean) => client.release(error),
        on: (event: 'error', listener: (error: Error) => void) => client.on(event, listener),
        removeListener: (event: 'error', listener: (error: Error) => void) => client.removeListener(event, listener),
      };
    },
  };
}

/** The store, counting each step called. */
function countingSteps(store: MfaStore): MfaStore {
  return new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (tally(steps, String(name)), value.apply(target, args));
    },
  });
}
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
  if (config.countStoreCalls) countingSessions(sessionStore);
  app.use(express.urlencoded({ extended: false }));
  app.use(session({ secret: 'bench-session-secret', resave: false, saveUninitialized: false, store: sessionStore }));
  app.use(authenticator.session());

  let store: MfaStore | undefined;
  let postgres: pg.Pool | undefined;
  const schema = `bench_${process.pid}_${Date.now().toString(36)}`;
  const transport = config.smtpPort ? benchTransport(config.smtpPort, config.smtpNoDelay ?? true) : undefined;

  // The last message sent, so that the floor's mail part sends the very same one.
  let lastMail: MailMessage | undefined;
  const recording = transport && {
    sendMail: (message: MailMessage) => {
      lastMail = message;
      return transport.sendMail(message);
    },
  };

  if (config.variant === 'ours') {
    if (config.mfaStore === 'postgres') {
      postgres = new pg.Pool({ connectionString: config.databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/test', max: 10, connectionTimeoutMillis: 5_000 });
      postgres.on('error', (error) => console.error('[bench server] postgres:', error.message));
      await postgres.query(`CREATE SCHEMA ${schema}`);
      const pgStore = new PostgresMfaStore({ pool: config.countStoreCalls ? countingPool(postgres) : postgres, schema });
      await pgStore.migrate();
      store = pgStore;
    } else if (config.mfaStore === 'redis') {
      store = new RedisMfaStore({ client: config.countStoreCalls ? counting(redis!) : redis!, prefix: `${prefix}mfa:` });
    } else store = new MemoryMfaStore();
    if (config.countStoreCalls) store = countingSteps(store);
    const auth = mfa<BenchUser>({
      secret: SECRET,
      passport: authenticator,
      store,
      user: { id: (u) => u.id, email: (u) => u.email },
      email: { transport: recording ?? { sendMail: async () => undefined }, from: 'Bench <no-reply@bench.test>' },
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
      storeCalls: () => ({ sent, steps, sessions: sessionCalls }),
      lastMail: () => ({ message: lastMail ?? null }),
      memory: () => ({ rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed }),
    },
    async () => {
      server.closeAllConnections();
      server.close();
      transport?.close();
      (store as MemoryMfaStore | undefined)?.close?.();
      await deletePrefix().catch(() => {});
      if (postgres) {
        await postgres.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
        await postgres.end().catch(() => {});
      }
      if (redis?.isReady) await redis.quit().catch(() => {});
    },
  );
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
}

main().catch((error) => {
  process.send?.({ type: 'failed', error: (error as Error).stack ?? String(error) });
  setTimeout(() => process.exit(1), 50);
});
