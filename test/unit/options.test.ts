import passport from 'passport';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mfa, MemoryMfaStore, RedisMfaStore, type Logger, type MailTransport, type MfaOptions } from '../../src/index.js';
import { resolveOptions } from '../../src/config/resolve.js';

const SECRET = 'unit-test-secret-that-is-32-bytes-or-more';
const transport: MailTransport = { sendMail: async () => ({}) };
const user = { id: (u: { id: string }) => u.id };
const PRODUCTION = { NODE_ENV: 'production' };
// A shared store for production start-up checks: nothing here reaches Redis.
const redisStore = new RedisMfaStore({ client: { evalSha: async () => null, eval: async () => null } });
const DEVELOPMENT = { NODE_ENV: 'test' };

/** resolveOptions with `extra` on top of a valid development configuration. */
function resolve(extra: Record<string, unknown>, env: NodeJS.ProcessEnv = DEVELOPMENT) {
  return resolveOptions({ user, ...extra } as MfaOptions, env);
}

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as Error).message;
  }
  throw new Error('expected a TypeError');
}

describe('resolveOptions: misspelt keys', () => {
  it("suggests 'policy' for 'polcy'", () => {
    const message = messageOf(() => resolve({ polcy: {} }));
    expect(message).toMatch(/^express-mfa: /);
    expect(message).toContain('unknown option polcy');
    expect(message).toContain('Did you mean policy?');
  });

  it("suggests 'methods.email.otpLength' for 'methods.email.otpLenght'", () => {
    const message = messageOf(() => resolve({ methods: { email: { otpLenght: 8 } } }));
    expect(message).toContain('unknown option methods.email.otpLenght');
    expect(message).toContain('Did you mean methods.email.otpLength?');
  });

  it('suggests keys of policies, named policies, email and user too', () => {
    expect(messageOf(() => resolve({ policy: { skipNetwork: [] } }))).toContain('Did you mean policy.skipNetworks?');
    expect(messageOf(() => resolve({ policies: { admins: { nodevice: 'deny' } } }))).toContain('Did you mean policies.admins.noDevice?');
    expect(messageOf(() => resolve({ email: { transprot: transport } }))).toContain('Did you mean email.transport?');
    expect(messageOf(() => resolveOptions({ user: { id: user.id, emial: () => 'x' } } as unknown as MfaOptions, DEVELOPMENT))).toContain('Did you mean user.email?');
  });

  it('lists the known options when nothing is close', () => {
    const message = messageOf(() => resolve({ zzzzzzzzzz: 1 }));
    expect(message).not.toContain('Did you mean');
    expect(message).toContain('Known options: secret, store');
  });
});

describe('resolveOptions: values', () => {
  it('accepts otpLength 6 to 10 and refuses anything else', () => {
    expect(resolve({ methods: { email: { otpLength: 6 } } }).methods.email.otpLength).toBe(6);
    expect(resolve({ methods: { email: { otpLength: 10 } } }).methods.email.otpLength).toBe(10);
    for (const otpLength of [5, 11, 0, 6.5, '8', -6]) {
      expect(messageOf(() => resolve({ methods: { email: { otpLength } } }))).toContain('methods.email.otpLength must be a whole number from 6 to 10');
    }
  });

  it('refuses bad durations, naming the option and the value', () => {
    expect(messageOf(() => resolve({ methods: { email: { otpLifetime: 'ten minutes' } } }))).toMatch(/methods\.email\.otpLifetime must be milliseconds or a string such as '30s'.*"ten minutes"/);
    expect(messageOf(() => resolve({ limits: { lockDuration: -1 } }))).toContain('limits.lockDuration');
    expect(messageOf(() => resolve({ recentMfa: '5 minutes' }))).toContain('recentMfa must be');
    expect(messageOf(() => resolve({ policy: { trustBrowser: '1 week' } }))).toContain('policy.trustBrowser must be');
    expect(messageOf(() => resolve({ policy: { trustBrowser: '91d' } }))).toContain('policy.trustBrowser must be at most 90 days');
    expect(resolve({ policy: { trustBrowser: '90d' } }).policies.get('default')!.trustBrowserMs).toBe(90 * 86_400_000);
    expect(messageOf(() => resolve({ methods: { email: { otpLifetime: '10s' } } }))).toContain('methods.email.otpLifetime must be at least 30000 ms');
    expect(messageOf(() => resolve({ limits: { sendWindow: {} } } as never))).toContain('limits.sendWindow');
    // The rules per user moved out of methods.email: the message says where to.
    expect(messageOf(() => resolve({ methods: { email: { sendLimit: 3 } } } as never))).toContain('write limits: { sendLimit } instead');
  });

  it('accepts durations as milliseconds or strings', () => {
    const resolved = resolve({ recentMfa: '2m', methods: { email: { otpLifetime: 90_000, resendCooldown: '1.5s' } }, policy: { trustBrowser: '7d' } });
    expect(resolved.recentMfaMs).toBe(120_000);
    expect(resolved.methods.email.otpLifetimeMs).toBe(90_000);
    expect(resolved.methods.email.resendCooldownMs).toBe(1500);
    expect(resolved.policies.get('default')!.trustBrowserMs).toBe(7 * 86_400_000);
  });

  it('refuses the removed skipWithin, saying to write trustBrowser with the same duration, and what changes for the user', () => {
    const message = messageOf(() => resolve({ policy: { skipWithin: '12h' } } as never));
    expect(message).toContain("policy.skipWithin was replaced by trustBrowser: write trustBrowser: '12h' instead");
    expect(message).toContain('"Trust this browser" at sign-on');
    expect(messageOf(() => resolve({ policies: { office: { skipWithin: 3_600_000 } } } as never))).toContain('policies.office.skipWithin was replaced by trustBrowser: write trustBrowser: 3600000 instead');
    expect(() => resolve({ policy: { skipWithin: '12h' } } as never)).toThrow(TypeError);
  });

  it('refuses a bad CIDR range, naming it', () => {
    for (const range of ['10.0.0.0/33', 'nonsense', '10.0.0/8', '2001:db8::/129', '', 42]) {
      expect(messageOf(() => resolve({ policy: { skipNetworks: [range] } }))).toContain('policy.skipNetworks has');
    }
    expect(messageOf(() => resolve({ policy: { skipNetworks: '10.0.0.0/8' } }))).toContain('policy.skipNetworks must be an array of CIDR ranges');
    expect(messageOf(() => resolve({ policies: { office: { skipNetworks: ['10.0.0.0/40'] } } }))).toContain('policies.office.skipNetworks has "10.0.0.0/40"');
  });

  it('accepts IPv4 and IPv6 ranges, and single addresses', () => {
    const network = resolve({ policy: { skipNetworks: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7', '::1'] } }).policies.get('default')!.skipNetworks!;
    expect(network.check('10.200.0.1', 'ipv4')).toBe(true);
    expect(network.check('192.0.2.7', 'ipv4')).toBe(true);
    expect(network.check('192.0.2.8', 'ipv4')).toBe(false);
    expect(network.check('2001:db8:1::1', 'ipv6')).toBe(true);
    expect(network.check('::1', 'ipv6')).toBe(true);
  });

  it("reads the user's id and email fields by default (failed before: mfa() threw 'user.id is required')", () => {
    const resolved = resolveOptions(undefined, DEVELOPMENT);
    expect(resolved.user.id({ id: 42 })).toBe('42');
    expect(resolved.user.id({ id: 'u-1' })).toBe('u-1');
    expect(resolved.user.email({ id: 1, email: 'a@b.test' })).toBe('a@b.test');
    expect(resolved.user.email({ id: 1 })).toBeUndefined();
    expect(() => resolved.user.id({ uid: 1 })).toThrow(/pass user: \{ id: \(u\) => String\(u.yourIdField\) \}/);
    expect(() => resolved.user.id({ id: '' })).toThrow(TypeError);
    expect(resolveOptions({}, DEVELOPMENT).user.id({ id: 7 })).toBe('7');
    expect(messageOf(() => resolveOptions({ user: { id: 'id' } } as unknown as MfaOptions, DEVELOPMENT))).toContain('user.id must be a function');
    expect(messageOf(() => resolveOptions(5 as unknown as MfaOptions, DEVELOPMENT))).toContain('takes an options object');
  });

  it('requires a store when NODE_ENV=production (an explicit MemoryMfaStore is allowed)', () => {
    const message = messageOf(() => resolveOptions({ secret: SECRET, email: { transport } }, PRODUCTION));
    expect(message).toContain('store is required when NODE_ENV=production');
    const store = new MemoryMfaStore();
    expect(resolveOptions({ secret: SECRET, email: { transport }, store }, PRODUCTION).store).toBe(store);
    store.close();
  });

  it('requires a secret when NODE_ENV=production', () => {
    const message = messageOf(() => resolve({ email: { transport } }, PRODUCTION));
    expect(message).toContain('secret is required when NODE_ENV=production');
    const resolved = resolve({}, DEVELOPMENT);
    expect(resolved.secretGenerated).toBe(true);
    expect(resolved.secret.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses a secret shorter than 32 bytes, saying how to make one', () => {
    const message = messageOf(() => resolve({ secret: 'too-short' }));
    expect(message).toContain('secret must be at least 32 bytes long; got 9');
    expect(message).toContain('randomBytes(32)');
    expect(resolve({ secret: Buffer.alloc(32, 1) }).secretGenerated).toBe(false);
  });

  it('requires a mail transport when NODE_ENV=production', () => {
    const message = messageOf(() => resolve({ secret: SECRET }, PRODUCTION));
    expect(message).toContain('email.transport is required when NODE_ENV=production');
    expect(resolve({ secret: SECRET, email: { transport }, store: redisStore }, PRODUCTION).production).toBe(true);
    expect(messageOf(() => resolve({ email: { transport: {} } }))).toContain('email.transport must be a nodemailer transport');
  });

  it('refuses a From line with a line break, and other bad values', () => {
    expect(messageOf(() => resolve({ email: { from: 'a@b.test\r\nBcc: x@y.test' } }))).toContain('email.from must be one address on one line');
    expect(messageOf(() => resolve({ basePath: 'mfa' }))).toContain('basePath must be a path');
    expect(messageOf(() => resolve({ successRedirect: '//evil.test' }))).toContain('successRedirect must be a path');
    expect(messageOf(() => resolve({ policy: { noDevice: 'allow' } }))).toContain("policy.noDevice must be one of 'enroll', 'deny', 'bypass'");
    expect(messageOf(() => resolve({ policy: { methods: ['pager'] } }))).toContain("policy.methods must be a non-empty array of permitted methods, of 'email', 'totp', 'fido2', 'sms', 'voice', 'recovery'.");
    expect(messageOf(() => resolve({ policies: { default: {} } }))).toContain('policies.default is reserved');
    expect(messageOf(() => resolve({ logger: { info() {} } }))).toContain('logger must have info, warn and error');
  });
});

describe('resolveOptions: defaults (the README table)', () => {
  it('has the documented defaults', () => {
    const resolved = resolve({});
    expect(resolved.methods.email).toEqual({
      enabled: true,
      pairingDisabled: false,
      nickname: true,
      codeLength: 6,
      otpLength: 6,
      otpLifetimeMs: 10 * 60_000,
      attemptsPerCode: 3,
      resendCooldownMs: 30_000,
    });
    expect(resolved.methods.totp).toEqual({
      enabled: true,
      pairingDisabled: false,
      nickname: true,
      codeLength: 6,
    });
    expect(resolved.limits).toEqual({
      lockAfter: 10,
      lockWindowMs: 15 * 60_000,
      lockDurationMs: 15 * 60_000,
      sendLimit: 5,
      sendWindowMs: 15 * 60_000,
      recipientSendLimit: 5,
      maxDevices: 5,
    });
    expect(resolved.recentMfaMs).toBe(10 * 60_000);
    expect(resolved.adminRequiresMfa).toBe(true);
    expect(resolved.basePath).toBe('/mfa');
    expect(resolved.loginPath).toBe('/login');
    expect(resolved.successRedirect).toBe('/');
    expect(resolved.email.from).toBe('no-reply@localhost');
    expect(resolved.contentSecurityPolicy).toBe(true);
    expect(resolved.production).toBe(false);
    expect([...resolved.policies.keys()]).toEqual(['default']);
    expect(resolved.policies.get('default')).toMatchObject({
      name: 'default',
      methods: ['email', 'totp', 'fido2', 'sms', 'voice', 'recovery'],
      trustBrowserMs: false,
      noDevice: 'enroll',
      enrollAddress: 'profile',
    });
    expect(resolved.policies.get('default')!.skipNetworks).toBeUndefined();
  });

  it('keeps the defaults of the keys a partial methods.email leaves out', () => {
    const resolved = resolve({ methods: { email: { otpLength: 8 } } });
    expect(resolved.methods.email).toMatchObject({ otpLength: 8, codeLength: 8, otpLifetimeMs: 600_000, resendCooldownMs: 30_000 });
    expect(resolveOptions({ limits: { sendLimit: 9 } }, DEVELOPMENT).limits).toMatchObject({ sendLimit: 9, maxDevices: 5, lockAfter: 10 });
  });
});

describe('mfa(): start-up warnings', () => {
  const saved = process.env.NODE_ENV;
  afterEach(() => {
    if (saved === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = saved;
  });

  function recorder(): Logger & { warnings: string[] } {
    const warnings: string[] = [];
    return { warnings, info() {}, warn: (m) => warnings.push(m), error() {} };
  }

  it('warns exactly once, about the in-memory store given on purpose, in production', () => {
    const logger = recorder();
    const store = new MemoryMfaStore();
    process.env.NODE_ENV = 'production';
    try {
      mfa({ secret: SECRET, user, email: { transport }, logger, store, passport: new passport.Passport() });
    } finally {
      store.close();
    }
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/in-memory store/);
  });

  it('does not warn in production with a shared store given', () => {
    const logger = recorder();
    process.env.NODE_ENV = 'production';
    mfa({ secret: SECRET, user, email: { transport }, logger, store: redisStore, passport: new passport.Passport() });
    expect(logger.warnings).toEqual([]);
  });

  it('mfa() with no options at all works in development: codes in the log, state in memory', () => {
    const logs: string[] = [];
    const spy = vi.spyOn(console, 'warn').mockImplementation((message: string) => void logs.push(message));
    try {
      process.env.NODE_ENV = 'development';
      const auth = mfa();
      expect(typeof auth).toBe('function');
      expect(auth.store).toBeInstanceOf(MemoryMfaStore);
      expect(logs.some((l) => /codes are written to this log/.test(l))).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses to start in production without a secret', () => {
    process.env.NODE_ENV = 'production';
    expect(() => mfa({ user, email: { transport }, logger: recorder(), passport: new passport.Passport() })).toThrow(/secret is required/);
  });

  it('warns in development about a generated secret and a missing transport, not about the store', () => {
    const logger = recorder();
    process.env.NODE_ENV = 'development';
    mfa({ user, logger, passport: new passport.Passport() });
    expect(logger.warnings).toHaveLength(2);
    expect(logger.warnings.join('\n')).toMatch(/no secret given/);
    expect(logger.warnings.join('\n')).toMatch(/no email\.transport/);
    expect(logger.warnings.join('\n')).not.toMatch(/in-memory store/);
  });
});

describe('resolveOptions: rateLimit', () => {
  it('is on by default, 100 writes a minute per address; false turns it off; limit and window are read', () => {
    expect(resolve({}).rateLimit).toEqual({ limit: 100, windowMs: 60_000 });
    expect(resolve({ rateLimit: false }).rateLimit).toBe(false);
    expect(resolve({ rateLimit: { limit: 20, window: '5m' } }).rateLimit).toEqual({ limit: 20, windowMs: 300_000 });
  });

  it('says what to write instead of what it cannot use', () => {
    expect(messageOf(() => resolve({ rateLimit: true }))).toContain("rateLimit must be false or an object: { limit: 100, window: '1m' }");
    expect(messageOf(() => resolve({ rateLimit: { lmit: 5 } }))).toContain('Did you mean rateLimit.limit?');
    expect(messageOf(() => resolve({ rateLimit: { windowMs: 60_000 } }))).toContain('Did you mean rateLimit.window?');
    expect(messageOf(() => resolve({ rateLimit: { limit: 0 } }))).toContain('rateLimit.limit must be a whole number from 1 up; got 0');
    expect(messageOf(() => resolve({ rateLimit: { limit: 2.5 } }))).toContain('rateLimit.limit must be a whole number');
    expect(messageOf(() => resolve({ rateLimit: { window: '10ms' } }))).toContain('rateLimit.window must be at least 1000 ms');
    expect(messageOf(() => resolve({ rateLimit: { window: 'soon' } }))).toContain("rateLimit.window must be milliseconds or a string such as '30s'");
    expect(messageOf(() => resolve({ rateLimit: { window: '2d' } }))).toContain("rateLimit.window must be at most a day ('1d')");
    expect(messageOf(() => resolve({ rateLimit: { store: { increment: () => ({ totalHits: 1, resetTime: undefined }) } } }))).toContain(
      'rateLimit.store must be an express-rate-limit Store (with increment, decrement and resetKey)',
    );
  });

  it('refuses an MfaStore without hit() while the limit counts in it, and says the three ways out', () => {
    const { hit: _hit, ...older } = Object.fromEntries(Object.getOwnPropertyNames(MemoryMfaStore.prototype).map((k) => [k, () => {}])) as Record<string, () => void>;
    const message = messageOf(() => resolve({ store: older }));
    expect(message).toContain('store has no hit(), which rateLimit counts with: implement it (see MfaStore.hit), or give rateLimit.store, or set rateLimit: false.');
    expect(() => resolve({ store: older, rateLimit: false })).not.toThrow();
    const own = { increment: () => ({ totalHits: 1, resetTime: undefined }), decrement: () => {}, resetKey: () => {} };
    expect(() => resolve({ store: older, rateLimit: { store: own } })).not.toThrow();
  });
});
