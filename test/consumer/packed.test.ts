import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { connectPostgres, createSchema, DATABASE_URL, dropSchema } from '../helpers/postgres.js';
import { connectRedis, deletePrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { Browser, describeFailure, isNetworkFailure, makeApp, pack, ROOT, run, startApp, type AppSpec } from './support.js';

// The tarball that `npm pack` makes, installed into the apps people have:
// each app is one folder, and together they cover ESM and CommonJS, Express
// 5 and 4.17, Passport 0.7 and 0.6, redis 5 and 6, and strict TypeScript in
// both module kinds. Versions are pinned so that a failure means a change here.
const TYPES = ['@types/express-session@1.19.0', '@types/passport@1.0.17'];
const APPS: Record<'esm' | 'cjs', AppSpec & { main: string }> = {
  esm: {
    fixture: 'esm',
    type: 'module',
    main: 'app.mjs',
    dependencies: ['express@5.3.0', 'express-session@1.19.0', 'passport@0.7.0', 'passport-local@1.0.0', 'redis@5.12.1', '@types/express@5.0.6', ...TYPES],
  },
  cjs: {
    fixture: 'cjs',
    type: 'commonjs',
    main: 'app.cjs',
    dependencies: ['express@4.17.3', 'express-session@1.17.3', 'passport@0.6.0', 'passport-local@1.0.0', 'redis@6.3.1', 'pg@8.23.1', '@types/express@4.17.25', ...TYPES],
  },
};
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');

let work: string;
/** Why the apps could not be installed, when that is the network's doing outside CI. */
let unavailable: string | undefined;
const prefixes = { esm: uniquePrefix('consumer-esm'), cjs: uniquePrefix('consumer-cjs') };
const redis = await connectRedis();
const postgres = await connectPostgres();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'express-mfa-consumer-'));
  const tarball = await pack(work);
  const installs = await Promise.all(
    Object.entries(APPS).map(async ([name, spec]) => {
      await mkdir(join(work, name));
      return { name, result: await makeApp(join(work, name), tarball, spec) };
    }),
  );
  for (const { name, result } of installs) {
    if (result.code === 0) continue;
    if (isNetworkFailure(result) && !process.env.CI) {
      unavailable = `the npm registry cannot be reached to install the consumer apps (${name}); skipping`;
      console.warn(`[tests] ${unavailable}`);
      return;
    }
    throw new Error(describeFailure(`npm install in the ${name} consumer app`, result));
  }
}, 240_000);

afterAll(async () => {
  if (redis) {
    for (const prefix of Object.values(prefixes)) await deletePrefix(redis, prefix);
    await redis.quit();
  }
  await postgres?.end();
  if (work) await rm(work, { recursive: true, force: true });
});

function needsApps(ctx: TestContext): void {
  if (unavailable) ctx.skip(unavailable);
}

const exported: Partial<Record<keyof typeof APPS, string[]>> = {};

describe.each(Object.keys(APPS) as (keyof typeof APPS)[])('the packed library in the %s app', (name) => {
  it.skipIf(!redis)('signs a user on: protected route, stylesheet, password step, enrolment page; a store call on a real Redis', async (ctx) => {
    needsApps(ctx);
    exported[name] = await signOnThrough(name, { REDIS_URL, MFA_PREFIX: prefixes[name] });
  });
});

// The CommonJS app with its MFA state in PostgreSQL: the packed build, the app's own pg, migrate() and the sign-on's steps.
it.skipIf(!postgres)('the packed library in the cjs app on a real PostgreSQL: migrate(), then the same sign-on', async (ctx) => {
  needsApps(ctx);
  const schema = await createSchema(postgres!, 'consumer');
  try {
    await signOnThrough('cjs', { DATABASE_URL, MFA_SCHEMA: schema });
    const tables = await postgres!.query('SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1', [schema]);
    expect(tables.rows[0].n).toBeGreaterThan(5);
  } finally {
    await dropSchema(postgres!, schema);
  }
});

/** Starts the app with `env`, checks its exports and walks the sign-on to the enrolment page; returns the exports. */
async function signOnThrough(name: keyof typeof APPS, env: Record<string, string>): Promise<string[]> {
  const spec = APPS[name];
  const app = await startApp(join(work, name), spec.main, env);
  try {
    const { port, exports, probeDevices, missing } = app.ready;
    expect(exports).toEqual(expect.arrayContaining(['mfa', 'MfaError', 'NotFoundError', 'ValidationError', 'MfaStrategy', 'MemoryMfaStore', 'RedisMfaStore', 'PostgresMfaStore']));
    expect(probeDevices).toBe(1);
    // The library's errors are instances of the classes this format exports.
    expect(missing).toEqual({ code: 'NOT_FOUND', isMfaError: true, isNotFoundError: true });

    const browser = new Browser(`http://127.0.0.1:${port}`);
    expect(browser.redirect(await browser.request('/account'))).toBe('/login');

    // views/ ships in the tarball and is found from this format's bundle.
    const css = await browser.request('/mfa/assets/mfa.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect((await css.text()).length).toBeGreaterThan(100);

    const login = await browser.request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=wonderland',
    });
    expect(browser.redirect(login), app.stderr()).toBe('/mfa/enroll');

    const enroll = await browser.request('/mfa/enroll');
    const html = await enroll.text();
    expect(enroll.status, `${html.slice(0, 500)}\n${app.stderr()}`).toBe(200);
    expect(html).toMatch(/<form[^>]+method="post"/i);
    expect(html).toContain('name="_mfa_csrf"');

    if (name === 'cjs') {
      // auth.rateLimit, mounted first as the README says, on Express 4: the default 100 writes a minute per address.
      const statuses: number[] = [];
      for (let i = 0; i < 101; i++) statuses.push((await fetch(`http://127.0.0.1:${port}/mfa/challenge`, { method: 'POST', redirect: 'manual' })).status);
      expect(statuses.slice(0, 100).filter((s) => s === 429)).toEqual([]);
      const refused = await fetch(`http://127.0.0.1:${port}/mfa/challenge`, { method: 'POST', redirect: 'manual' });
      expect(statuses[100]).toBe(429);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    return exports;
  } finally {
    app.child.kill();
  }
}

// tsc runs are child processes: checking the three at once takes the time of one.
// That time is some 20 s on two busy cores (skipLibCheck: false reads every
// declaration the app has), hence a timeout of its own.
const TYPE_CHECK_TIMEOUT = 120_000;
describe.concurrent('the packed library\'s declarations, with skipLibCheck: false', () => {
  it.for([
    ['esm', 'tsconfig.json', 'an ESM package, module nodenext'],
    ['cjs', 'tsconfig.json', 'a CommonJS package, module nodenext'],
    ['cjs', 'tsconfig.node10.json', 'moduleResolution node10, through main/types'],
  ] as const)('type-check in a strict app: %s %s (%s)', { timeout: TYPE_CHECK_TIMEOUT }, async ([name, tsconfig], ctx) => {
    needsApps(ctx);
    const result = await run(TSC, ['-p', tsconfig], join(work, name));
    expect(result.code, describeFailure('tsc', result)).toBe(0);
  });
});

describe('the two formats', () => {
  it.skipIf(!redis)('export the same names', (ctx) => {
    needsApps(ctx);
    expect(exported.esm).toBeDefined();
    expect(exported.cjs).toEqual(exported.esm);
  });
});
