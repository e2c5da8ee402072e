import { randomBytes } from 'node:crypto';
import type { MfaStore } from '../stores/types.js';
import { checkKeys, duration, fail, integer, isObject, networks, oneOf, path } from './checks.js';
import type { Branding, MailTransport, RateLimitStore } from './contracts.js';
import { consoleLogger, defaultEmail, defaultId, DEFAULT_POLICY, LIMIT_DEFAULTS, RATE_LIMIT_DEFAULTS } from './defaults.js';
import { PERMITTABLE, resolveMethods, resolveNoticeRouting, type ResolvedMethods } from '../methods/registry.js';
import type { MfaOptions } from './options.js';
import type { ResolvedLimits, ResolvedOptions, ResolvedPolicy, ResolvedRateLimit } from './resolved.js';

/**
 * Checks the app's options at start-up, with a message that says what to
 * write instead, and hands the domain its resolved configuration: defaults
 * applied, durations in milliseconds, CIDR ranges parsed.
 */

const TOP_KEYS = [
  'secret', 'store', 'passport', 'basePath', 'loginPath', 'successRedirect', 'homePath', 'signOutPath', 'user', 'email', 'policy',
  'policies', 'methods', 'limits', 'rateLimit', 'recentMfa', 'views', 'contentSecurityPolicy', 'logger', 'admin', 'adminRequiresMfa', 'locale', 'messages', 'branding', 'newDeviceNotification',
] as const;
const POLICY_KEYS = ['methods', 'skip', 'skipNetworks', 'trustBrowser', 'noDevice', 'enrollAddress', 'deviceSelection'] as const;
const LIMIT_KEYS = ['lockAfter', 'lockWindow', 'lockDuration', 'sendLimit', 'sendWindow', 'recipientSendLimit', 'maxDevices'] as const;

function resolvePolicy<User>(name: string, where: string, value: unknown, settings: ResolvedMethods): ResolvedPolicy<User> {
  if (value === undefined) value = {};
  if (!isObject(value)) fail(`${where} must be an object.`);
  if ('skipWithin' in value) {
    const same = value.skipWithin === false || value.skipWithin === undefined ? 'false' : JSON.stringify(value.skipWithin).replace(/^"(.*)"$/, "'$1'");
    fail(`${where}.skipWithin was replaced by trustBrowser: write trustBrowser: ${same} instead. The user now ticks "Trust this browser" at sign-on, and trusted browsers are listed, and can be revoked, under "Your authentication methods".`);
  }
  checkKeys(`${where}.`, value, POLICY_KEYS);
  const known = PERMITTABLE.map((m) => `'${m}'`).join(', ');
  const methods = value.methods ?? PERMITTABLE;
  if (!Array.isArray(methods) || methods.length === 0 || methods.some((m) => !PERMITTABLE.includes(m))) {
    fail(`${where}.methods must be a non-empty array of permitted methods, of ${known}.`);
  }
  const byType = settings as unknown as Record<string, { enabled: boolean; offHint?: string } | undefined>;
  const off = (methods as string[]).find((m) => byType[m]?.enabled === false);
  if (value.methods !== undefined && off) {
    fail(`${where}.methods permits '${off}', which ${byType[off]?.offHint ?? `methods.${off}.enabled turns off`}: ${byType[off]?.offHint ? `give it, or remove '${off}'` : 'remove one or the other'}.`);
  }
  if (value.skip !== undefined && typeof value.skip !== 'function') fail(`${where}.skip must be a function (user, req) => boolean.`);
  return {
    name,
    methods: [...new Set(methods as string[])],
    skip: value.skip as ResolvedPolicy<User>['skip'],
    skipNetworks: networks(`${where}.skipNetworks`, value.skipNetworks),
    trustBrowserMs: trustDuration(`${where}.trustBrowser`, value.trustBrowser),
    noDevice: oneOf(`${where}.noDevice`, value.noDevice, ['enroll', 'deny', 'bypass'] as const, 'enroll'),
    enrollAddress: oneOf(`${where}.enrollAddress`, value.enrollAddress, ['profile', 'any'] as const, 'profile'),
    deviceSelection: oneOf(`${where}.deviceSelection`, value.deviceSelection, ['default', 'prompt'] as const, 'default'),
  };
}

const MAX_TRUST_MS = 90 * 86_400_000;

function trustDuration(name: string, value: unknown): number | false {
  if (value === false || value === undefined) return false;
  const ms = duration(name, value, 0, 60_000);
  if (ms > MAX_TRUST_MS) fail(`${name} must be at most 90 days ('90d'); got ${JSON.stringify(value)}.`);
  return ms;
}

function resolveLimits(value: unknown): ResolvedLimits {
  if (value === undefined) return { ...LIMIT_DEFAULTS };
  if (!isObject(value)) fail('limits must be an object: { lockAfter, lockWindow, lockDuration, sendLimit, sendWindow, recipientSendLimit, maxDevices }.');
  checkKeys('limits.', value, LIMIT_KEYS);
  const d = LIMIT_DEFAULTS;
  return {
    lockAfter: integer('limits.lockAfter', value.lockAfter, d.lockAfter, 1),
    lockWindowMs: duration('limits.lockWindow', value.lockWindow, d.lockWindowMs, 1000),
    lockDurationMs: duration('limits.lockDuration', value.lockDuration, d.lockDurationMs, 1000),
    sendLimit: integer('limits.sendLimit', value.sendLimit, d.sendLimit, 1),
    sendWindowMs: duration('limits.sendWindow', value.sendWindow, d.sendWindowMs, 1000),
    recipientSendLimit: integer('limits.recipientSendLimit', value.recipientSendLimit, d.recipientSendLimit, 1),
    maxDevices: integer('limits.maxDevices', value.maxDevices, d.maxDevices, 1, 100),
  };
}

const RATE_LIMIT_KEYS = ['limit', 'window', 'store'] as const;

function resolveRateLimit(value: unknown): ResolvedRateLimit | false {
  if (value === false) return false;
  if (value === undefined) return { ...RATE_LIMIT_DEFAULTS };
  if (!isObject(value)) fail("rateLimit must be false or an object: { limit: 100, window: '1m' }.");
  checkKeys('rateLimit.', value, RATE_LIMIT_KEYS);
  const store = value.store as Partial<RateLimitStore> | undefined;
  if (store !== undefined && (!isObject(store) || (['increment', 'decrement', 'resetKey'] as const).some((m) => typeof store[m] !== 'function'))) {
    fail('rateLimit.store must be an express-rate-limit Store (with increment, decrement and resetKey), such as a RedisStore of rate-limit-redis; or leave it out to count in the MFA store.');
  }
  const windowMs = duration('rateLimit.window', value.window, RATE_LIMIT_DEFAULTS.windowMs, 1000);
  // Longer, and one burst would refuse a whole office's address for that long.
  if (windowMs > 86_400_000) fail(`rateLimit.window must be at most a day ('1d'); got ${JSON.stringify(value.window)}.`);
  return {
    limit: integer('rateLimit.limit', value.limit, RATE_LIMIT_DEFAULTS.limit, 1),
    windowMs,
    ...(store ? { store: store as RateLimitStore } : {}),
  };
}

function resolveSecret(value: unknown, production: boolean): { secret: Buffer; generated: boolean } {
  if (value === undefined || value === '') {
    if (production) fail('secret is required when NODE_ENV=production: pass a random string of at least 32 bytes, e.g. secret: process.env.MFA_SECRET.');
    return { secret: randomBytes(32), generated: true };
  }
  const secret = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.isBuffer(value) ? value : undefined;
  if (!secret) fail('secret must be a string or a Buffer.');
  if (secret.length < 32) fail(`secret must be at least 32 bytes long; got ${secret.length}. Generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`);
  return { secret, generated: false };
}

export function resolveOptions<User>(given: MfaOptions<User> = {}, env: NodeJS.ProcessEnv = process.env): ResolvedOptions<User> {
  if (!isObject(given)) fail('mfa(options) takes an options object, such as mfa({ secret, store, email: { transport } }).');
  const options: MfaOptions<User> = given;
  checkKeys('', options, TOP_KEYS);
  const production = env.NODE_ENV === 'production';
  const { secret, generated } = resolveSecret(options.secret, production);

  const user = options.user ?? {};
  if (!isObject(user)) fail('user must be an object: { id: (u) => String(u.id), email: (u) => u.email }.');
  checkKeys('user.', user, ['id', 'email']);
  if (user.id !== undefined && typeof user.id !== 'function') fail("user.id must be a function that returns the user's stable id as a string, e.g. (u) => String(u.id).");
  if (user.email !== undefined && typeof user.email !== 'function') fail('user.email must be a function (user) => string.');

  const email = options.email ?? {};
  if (!isObject(email)) fail('email must be an object: { transport, from }.');
  checkKeys('email.', email, ['transport', 'from']);
  if (email.transport !== undefined && typeof (email.transport as MailTransport)?.sendMail !== 'function') {
    fail('email.transport must be a nodemailer transport (an object with sendMail), e.g. nodemailer.createTransport(process.env.SMTP_URL).');
  }
  if (production && email.transport === undefined) fail('email.transport is required when NODE_ENV=production: pass nodemailer.createTransport(...).');
  if (production && options.store === undefined) {
    fail('store is required when NODE_ENV=production: pass store: new RedisMfaStore({ client }), so that paired devices survive a restart and every instance shares them (or store: new MemoryMfaStore() for one process on purpose).');
  }
  if (email.from !== undefined && (typeof email.from !== 'string' || /[\r\n]/.test(email.from) || email.from.trim() === '')) {
    fail("email.from must be one address on one line, such as 'Acme <no-reply@acme.test>'.");
  }

  if (options.store !== undefined && (!isObject(options.store) || typeof (options.store as MfaStore).attemptChallenge !== 'function')) {
    fail('store must implement the MfaStore interface, e.g. new RedisMfaStore({ client }) or new MemoryMfaStore().');
  }

  if (options.passport !== undefined && (!isObject(options.passport) || typeof options.passport.authenticate !== 'function')) {
    fail('passport must be a Passport Authenticator (the passport package, or new Passport()).');
  }

  const methods = resolveMethods(options.methods);
  const policies = new Map<string, ResolvedPolicy<User>>();
  policies.set(DEFAULT_POLICY, resolvePolicy<User>(DEFAULT_POLICY, 'policy', options.policy, methods));
  if (options.policies !== undefined) {
    if (!isObject(options.policies)) fail('policies must be an object of named policies: { admins: { ... } }.');
    for (const [name, policy] of Object.entries(options.policies)) {
      if (name === DEFAULT_POLICY) fail(`policies.${DEFAULT_POLICY} is reserved: set the default with the policy option.`);
      policies.set(name, resolvePolicy<User>(name, `policies.${name}`, policy, methods));
    }
  }

  const views = options.views === undefined ? [] : Array.isArray(options.views) ? options.views : [options.views];
  if (views.some((v) => typeof v !== 'string' || v === '')) fail('views must be a folder path or an array of folder paths.');

  if (options.contentSecurityPolicy !== undefined && typeof options.contentSecurityPolicy !== 'boolean') {
    fail('contentSecurityPolicy must be true or false.');
  }
  const logger = options.logger ?? consoleLogger;
  if (!isObject(logger) || ['info', 'warn', 'error'].some((k) => typeof (logger as any)[k] !== 'function')) {
    fail('logger must have info, warn and error methods (console, pino and winston loggers do).');
  }

  if (options.locale !== undefined && typeof options.locale !== 'function') fail("locale must be a function (req, user) => 'fr' | undefined.");
  const messages = options.messages ?? {};
  if (!isObject(messages) || Object.entries(messages).some(([tag, m]) => !/^[A-Za-z]{1,8}([-_][A-Za-z0-9]{1,8})*$/.test(tag) || !isObject(m) || Object.values(m).some((v) => typeof v !== 'string'))) {
    fail("messages must map language tags to { key: 'text' } objects, e.g. { de: { 'challenge.title': 'Code eingeben' } }.");
  }
  const branding = options.branding ?? {};
  if (!isObject(branding)) fail('branding must be an object: { productName, logoUrl, stylesheetUrl }.');
  checkKeys('branding.', branding, ['productName', 'logoUrl', 'stylesheetUrl']);
  if (branding.productName !== undefined && (typeof branding.productName !== 'string' || /[\r\n]/.test(branding.productName))) {
    fail('branding.productName must be one line of text.');
  }
  for (const key of ['logoUrl', 'stylesheetUrl'] as const) {
    const url = branding[key];
    if (url !== undefined && (typeof url !== 'string' || !(/^\/(?![/\\])\S*$/.test(url) || /^https:\/\/[^\s/]+\S*$/.test(url)))) {
      fail(`branding.${key} must be a path on this site ('/brand/logo.svg') or an https URL; got ${JSON.stringify(url)}.`);
    }
  }

  if (options.admin !== undefined && typeof options.admin !== 'function') {
    fail('admin must be a function (req) => boolean, e.g. admin: (req) => req.user?.role === "admin".');
  }
  if (options.adminRequiresMfa !== undefined && typeof options.adminRequiresMfa !== 'boolean') fail('adminRequiresMfa must be true or false.');

  const rateLimit = resolveRateLimit(options.rateLimit);
  if (rateLimit && !rateLimit.store && options.store !== undefined && typeof (options.store as Partial<MfaStore>).hit !== 'function') {
    fail('store has no hit(), which rateLimit counts with: implement it (see MfaStore.hit), or give rateLimit.store, or set rateLimit: false.');
  }

  const successRedirect = path('successRedirect', options.successRedirect, '/');
  return {
    secret,
    secretGenerated: generated,
    store: options.store,
    passport: options.passport,
    basePath: path('basePath', options.basePath, '/mfa'),
    loginPath: path('loginPath', options.loginPath, '/login'),
    successRedirect,
    homePath: path('homePath', options.homePath, successRedirect),
    signOutPath: options.signOutPath === undefined ? undefined : path('signOutPath', options.signOutPath, '/logout'),
    user: { id: (user.id as ResolvedOptions<User>['user']['id'] | undefined) ?? defaultId, email: (user.email as ResolvedOptions<User>['user']['email'] | undefined) ?? defaultEmail },
    email: { transport: email.transport as MailTransport | undefined, from: (email.from as string | undefined) ?? 'no-reply@localhost' },
    policies,
    methods,
    limits: resolveLimits(options.limits),
    rateLimit,
    recentMfaMs: duration('recentMfa', options.recentMfa, 10 * 60_000, 1000),
    views,
    contentSecurityPolicy: options.contentSecurityPolicy ?? true,
    logger,
    admin: options.admin,
    adminRequiresMfa: options.adminRequiresMfa ?? true,
    locale: options.locale as ResolvedOptions<User>['locale'],
    messages: messages as Record<string, Record<string, string>>,
    branding: branding as Branding,
    notices: resolveNoticeRouting(options.newDeviceNotification),
    production,
  };
}
