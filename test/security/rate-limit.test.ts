/**
 * The library's writes are limited per client address (req.ip), across users:
 * one address sending a flood gets 429 with Retry-After, on the pages and in
 * the API, and costs the server next to nothing, while other addresses, GETs
 * and the app's own routes go on as before. The per-user lockout is a
 * separate rule and keeps working, from one address or many.
 */
import session from 'express-session';
import { MemoryStore as RateLimitMemoryStore } from 'express-rate-limit';
import { describe, expect, it } from 'vitest';
import { MemoryMfaStore, StoreUnavailableError, type MfaStore } from '../../src/index.js';
import { agent, createTestApp, signOn, type Agent, type TestApp } from '../helpers/app.js';
import { answer, pairDevice, startSignOn, useFakeDate, useSink, wrongCode } from './support.js';

const sink = useSink();
const clock = useFakeDate();

/** A POST under /mfa from `address` (X-Forwarded-For: the test app trusts loopback proxies); no CSRF token, so a 403 unless limited. */
function post(a: Agent, path: string, address: string) {
  return a.post(path).set('X-Forwarded-For', address).type('form').send({ otp: '123456' });
}

function apiPost(a: Agent, path: string, address: string) {
  return a.post(path).set('X-Forwarded-For', address).set('Accept', 'application/json').send({});
}

/** Sends `n` writes from `address`, one after the other, and returns their statuses. */
async function flood(a: Agent, address: string, n: number, path = '/mfa/challenge'): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await post(a, path, address)).status);
  return statuses;
}

/** The MfaStore's calls, by method name. */
function counting(store: MfaStore): { store: MfaStore; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const proxy = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls[String(name)] = (calls[String(name)] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

/** An express-session store that counts its reads. */
class CountingSessionStore extends session.MemoryStore {
  gets = 0;
  override get(sid: string, callback: (err: unknown, session?: session.SessionData | null) => void): void {
    this.gets += 1;
    super.get(sid, callback);
  }
}

describe('the default limit: 100 writes a minute per address', () => {
  it('refuses the 101st POST of a minute with the 429 page, Retry-After, and the headers of every page', async () => {
    const t = createTestApp({ sink: sink() });
    const a = agent(t.app);
    const statuses = await flood(a, '203.0.113.10', 100);
    expect(statuses.every((s) => s === 403)).toBe(true);

    const refused = await post(a, '/mfa/challenge', '203.0.113.10');
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(refused.text).toContain(`Too many requests from your network. Please wait ${retryAfter} seconds and try again.`);
    expect(refused.headers['cache-control']).toBe('no-store');
    expect(refused.headers['x-content-type-options']).toBe('nosniff');
    expect(refused.headers['referrer-policy']).toBe('same-origin');
    expect(refused.headers['content-security-policy']).toContain("default-src 'self'");
    // No outage: nothing for the operators' error log.
    expect(t.logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('refuses in the API with the JSON error RATE_LIMITED and Retry-After, in the language of the request on pages', async () => {
    const t = createTestApp({ sink: sink() });
    const a = agent(t.app);
    for (let i = 0; i < 100; i++) expect((await apiPost(a, '/mfa/api/authentications', '198.51.100.20')).status).toBe(401);
    const refused = await apiPost(a, '/mfa/api/authentications', '198.51.100.20');
    expect(refused.status).toBe(429);
    expect(refused.headers['cache-control']).toBe('no-store');
    expect(refused.body).toEqual({
      code: 'RATE_LIMITED',
      message: expect.stringMatching(/^Too many requests from your network/),
      details: { retryAfter: Number(refused.headers['retry-after']) },
    });
    // API and pages share one count per address.
    const page = await post(a, '/mfa/challenge', '198.51.100.20').set('Accept-Language', 'fr');
    expect(page.status).toBe(429);
    expect(page.text).toContain('Trop de requêtes depuis votre réseau.');
  });
});

describe('what the limit does and does not touch', () => {
  it('another address is not affected, nor GETs, nor the app’s own routes, from the limited address either', async () => {
    const t = createTestApp({ sink: sink(), mfa: { rateLimit: { limit: 3 } } });
    const bob = t.users[1]!;
    await pairDevice(t, sink(), 'u2', bob.email!);
    const attacker = agent(t.app);
    expect(await flood(attacker, '203.0.113.30', 5)).toEqual([403, 403, 403, 429, 429]);

    // Bob, at another address, signs on with his code: the pages' POST is not limited for him.
    const b = agent(t.app);
    const { code } = await startSignOn(b, sink(), bob);
    const page = await b.get('/mfa/challenge');
    expect(page.status).toBe(200);
    const csrf = /name="_mfa_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const done = await b.post('/mfa/challenge').set('X-Forwarded-For', '198.51.100.31').type('form').send({ _mfa_csrf: csrf, otp: code });
    expect(done.headers.location).toBe('/');

    // From the limited address: GETs under /mfa and the app's routes, POSTs included, go on.
    expect((await attacker.get('/mfa/challenge').set('X-Forwarded-For', '203.0.113.30')).status).toBe(303);
    expect((await attacker.get('/mfa/assets/mfa.css').set('X-Forwarded-For', '203.0.113.30')).status).toBe(200);
    expect((await attacker.head('/mfa/api/openapi.json').set('X-Forwarded-For', '203.0.113.30')).status).toBe(200);
    expect((await attacker.get('/').set('X-Forwarded-For', '203.0.113.30')).status).toBe(200);
    expect((await attacker.post('/login').set('X-Forwarded-For', '203.0.113.30').type('form').send({ username: 'x', password: 'y' })).status).toBe(303);
    expect((await attacker.post('/logout').set('X-Forwarded-For', '203.0.113.30')).status).toBe(302);
  });

  it('an IPv6 client is counted by its /56: another address of the same network shares the count, another network does not', async () => {
    const t = createTestApp({ sink: sink(), mfa: { rateLimit: { limit: 2 } } });
    const a = agent(t.app);
    expect((await post(a, '/mfa/challenge', '2001:db8:0:1::1')).status).toBe(403);
    expect((await post(a, '/mfa/challenge', '2001:db8:0:2::99')).status).toBe(403);
    expect((await post(a, '/mfa/challenge', '2001:db8:0:3::5')).status).toBe(429);
    expect((await post(a, '/mfa/challenge', '2001:db8:1:100::1')).status).toBe(403);
  });

  it('the window resets: a limited address may write again once it ends', async () => {
    clock.install();
    const t = createTestApp({ sink: sink(), mfa: { rateLimit: { limit: 2, window: '1m' } } });
    const a = agent(t.app);
    expect(await flood(a, '203.0.113.40', 3)).toEqual([403, 403, 429]);
    clock.advance(30_000);
    const refused = await post(a, '/mfa/challenge', '203.0.113.40');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBe(30);
    clock.advance(30_000);
    expect(await flood(a, '203.0.113.40', 3)).toEqual([403, 403, 429]);
  });

  it('rateLimit: false turns it off', async () => {
    const t = createTestApp({ sink: sink(), mfa: { rateLimit: false } });
    const a = agent(t.app);
    const statuses = await flood(a, '203.0.113.50', 130);
    expect(new Set(statuses)).toEqual(new Set([403]));
    // auth.rateLimit mounted by the app then passes everything.
    const early = createTestApp({ sink: sink(), mfa: { rateLimit: false }, beforeSession: (app, auth) => app.use(auth.rateLimit) });
    expect(new Set(await flood(agent(early.app), '203.0.113.50', 120))).toEqual(new Set([403]));
  });

  it('a signed-on request to the app’s routes costs no store or limiter work: the gate reads the session only', async () => {
    const counted = counting(new MemoryMfaStore());
    const t = createTestApp({ sink: sink(), mfa: { store: counted.store } });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    expect((await signOn(a, sink(), alice)).headers.location).toBe('/');
    for (const key of Object.keys(counted.calls)) delete counted.calls[key];
    for (let i = 0; i < 5; i++) {
      expect((await a.get('/account').set('X-Forwarded-For', '203.0.113.60')).text).toBe('account of alice');
      expect((await a.post('/logout-not-here').set('X-Forwarded-For', '203.0.113.60')).status).toBe(404);
    }
    expect(counted.calls).toEqual({});
    // A write under /mfa is counted once, with one hit.
    await post(a, '/mfa/challenge', '203.0.113.60');
    expect(counted.calls).toEqual({ hit: 1 });
  });
});

describe('the per-user lockout, beside the per-address limit', () => {
  // One code takes all the tries here, so that the lockout, not the code's own attempts, is what refuses.
  const rules = { limits: { lockAfter: 5 }, methods: { email: { attemptsPerCode: 10 } } };

  async function pendingAlice(t: TestApp) {
    await pairDevice(t, sink(), 'u1', t.users[0]!.email!);
    const a = agent(t.app);
    const { code } = await startSignOn(a, sink(), t.users[0]!);
    const csrf = /name="_mfa_csrf" value="([^"]+)"/.exec((await a.get('/mfa/challenge')).text)![1]!;
    const guess = (address: string, otp: string) => a.post('/mfa/challenge').set('X-Forwarded-For', address).type('form').send({ _mfa_csrf: csrf, otp });
    return { a, code, guess };
  }

  it('a flood from one address: the user is locked as before, the address is cut off, other users sign on', async () => {
    const t = createTestApp({ sink: sink(), mfa: { ...rules, rateLimit: { limit: 30 } } });
    await pairDevice(t, sink(), 'u2', t.users[1]!.email!);
    const { code, guess } = await pendingAlice(t);
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await guess('203.0.113.70', wrongCode(code, 1 + (i % 9)))).status);
    expect(statuses).toEqual([...Array(4).fill(400), ...Array(26).fill(423), ...Array(10).fill(429)]);
    expect(t.events.filter((e) => e.type === 'user.locked' && e.userId === 'u1')).toHaveLength(1);

    // Bob, at another address, is neither limited nor locked.
    expect((await signOn(agent(t.app), sink(), t.users[1]!)).headers.location).toBe('/');
  });

  it('a distributed attack, one wrong code from each address, still locks the user', async () => {
    const t = createTestApp({ sink: sink(), mfa: rules });
    const { a, code, guess } = await pendingAlice(t);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await guess(`192.0.2.${i + 1}`, wrongCode(code, i + 1))).status);
    expect(statuses).toEqual([400, 400, 400, 400, 423]);
    expect(t.events.filter((e) => e.type === 'user.locked' && e.userId === 'u1')).toHaveLength(1);
    expect((await answer(a, code)).status).toBe(423);
  });
});

describe('auth.rateLimit, mounted before session()', () => {
  it('refuses a flooded write without reading the session store; counts each write once with app.use(auth) after it', async () => {
    const sessionStore = new CountingSessionStore();
    const t = createTestApp({ sink: sink(), sessionStore, mfa: { rateLimit: { limit: 3 } }, beforeSession: (app, auth) => app.use(auth.rateLimit) });
    const alice = t.users[0]!;
    await pairDevice(t, sink(), 'u1', alice.email!);
    const a = agent(t.app);
    await startSignOn(a, sink(), alice);
    // Three writes pass: counted by the early middleware, not again by the router (a double count would refuse the second).
    expect(await flood(a, '203.0.113.80', 3)).toEqual([403, 403, 403]);
    const before = sessionStore.gets;
    for (let i = 0; i < 5; i++) expect((await post(a, '/mfa/challenge', '203.0.113.80')).status).toBe(429);
    expect(sessionStore.gets).toBe(before);
    // The app's routes and GETs from that address still read their session.
    expect((await a.get('/mfa/challenge').set('X-Forwarded-For', '203.0.113.80')).status).toBe(200);
    expect(sessionStore.gets).toBe(before + 1);
  });

  it('its 429 page is the library’s message page, in the request’s language, with the wait of the moment', async () => {
    clock.install();
    const t = createTestApp({ sink: sink(), mfa: { rateLimit: { limit: 1 } }, beforeSession: (app, auth) => app.use(auth.rateLimit) });
    const a = agent(t.app);
    expect((await post(a, '/mfa/challenge', '203.0.113.85')).status).toBe(403);
    const pages = [];
    for (const [language, wait] of [['fr', 0], ['fr', 0], ['en', 10_000], ['fr', 0]] as const) {
      clock.advance(wait);
      pages.push(await post(a, '/mfa/challenge', '203.0.113.85').set('Accept-Language', language));
    }
    expect(pages.map((p) => [p.status, p.headers['retry-after']])).toEqual([[429, '60'], [429, '60'], [429, '50'], [429, '50']]);
    expect(pages[0]!.text).toContain('Trop de requêtes depuis votre réseau. Veuillez attendre 60 secondes et réessayer.');
    expect(pages[0]!.text).toContain('<html lang="fr"');
    expect(pages[1]!.text).toBe(pages[0]!.text);
    expect(pages[2]!.text).toContain('Please wait 50 seconds and try again.');
    expect(pages[3]!.text).toContain('Veuillez attendre 50 secondes');
    for (const p of pages) {
      expect(p.headers['cache-control']).toBe('no-store');
      expect(p.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(p.text).not.toContain('_mfa_csrf');
    }
  });

  it('without it, the router refuses after express-session read the session, but before any store work', async () => {
    const sessionStore = new CountingSessionStore();
    const counted = counting(new MemoryMfaStore());
    const t = createTestApp({ sink: sink(), sessionStore, mfa: { store: counted.store, rateLimit: { limit: 1 } } });
    const a = agent(t.app);
    expect(await flood(a, '203.0.113.81', 2)).toEqual([403, 429]);
    for (const key of Object.keys(counted.calls)) delete counted.calls[key];
    // Refused from this instance's memory: not even a hit.
    for (let i = 0; i < 5; i++) expect((await post(a, '/mfa/challenge', '203.0.113.81')).status).toBe(429);
    expect(counted.calls).toEqual({});
  });
});

describe('fail closed', () => {
  const failingHits = (): MfaStore => {
    const store = new MemoryMfaStore();
    store.hit = async () => {
      throw new StoreUnavailableError(new Error('connection refused'));
    };
    return store;
  };

  function expectOutage(res: { status: number; headers: Record<string, string>; text: string }) {
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.headers['cache-control']).toBe('no-store');
  }

  it('a write the MFA store cannot count is refused with 503 "try again shortly", on pages and API, and the cause logged', async () => {
    for (const early of [false, true]) {
      const t = createTestApp({ sink: sink(), mfa: { store: failingHits() }, ...(early ? { beforeSession: (app, auth) => app.use(auth.rateLimit) } : {}) });
      const a = agent(t.app);
      const page = await post(a, '/mfa/challenge', '203.0.113.90');
      expectOutage(page);
      expect(page.text).toContain('Please try again shortly');
      const api = await apiPost(a, '/mfa/api/authentications', '203.0.113.90');
      expectOutage(api);
      expect(api.body.code).toBe('STORE_UNAVAILABLE');
      expect(t.logs.filter((l) => l.level === 'error').map((l) => (l.error as Error).message)).toEqual(['connection refused', 'connection refused']);
      // GETs need no count.
      expect((await a.get('/mfa/challenge').set('X-Forwarded-For', '203.0.113.90')).status).toBe(303);
    }
  });

  it('so is one that the app’s own rateLimit.store fails to count, whatever it throws', async () => {
    const broken = new RateLimitMemoryStore();
    broken.increment = async () => {
      throw new Error('memcached is down');
    };
    const t = createTestApp({ sink: sink(), mfa: { rateLimit: { store: broken } } });
    const res = await post(agent(t.app), '/mfa/challenge', '203.0.113.91');
    expectOutage(res);
    expect(t.logs.filter((l) => l.level === 'error').map((l) => (l.error as Error).message)).toEqual(['memcached is down']);
  });
});

describe('rateLimit.store', () => {
  it('counts in the app’s own express-rate-limit store, not in the MFA store', async () => {
    const counted = counting(new MemoryMfaStore());
    const own = new RateLimitMemoryStore();
    const t = createTestApp({ sink: sink(), mfa: { store: counted.store, rateLimit: { limit: 2, store: own } } });
    const a = agent(t.app);
    expect(await flood(a, '203.0.113.95', 3)).toEqual([403, 403, 429]);
    expect(counted.calls.hit).toBeUndefined();
    expect((await own.get('203.0.113.95'))?.totalHits).toBe(3);
  });
});

describe("behind a proxy without Express's trust proxy", () => {
  it('says once that every client then shares the proxy’s address', async () => {
    const t = createTestApp({ sink: sink() });
    t.app.set('trust proxy', false);
    const a = agent(t.app);
    await post(a, '/mfa/challenge', '203.0.113.99');
    await post(a, '/mfa/challenge', '203.0.113.98');
    const warnings = t.logs.filter((l) => l.level === 'warn' && /X-Forwarded-For/.test(l.message));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/^rate limit: The 'X-Forwarded-For' header is set but the Express 'trust proxy' setting is false/);
  });
});
