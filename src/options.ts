import { randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { parseDuration, type Duration } from './duration.js';
import type { MfaStore } from './stores/types.js';

/** Anything with nodemailer's `sendMail(message)`: every nodemailer transport. */
export interface MailTransport {
  sendMail(message: MailMessage): Promise<unknown>;
}

export interface MailMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
}

/** What the policy does with a user who has no active device. */
export type NoDeviceAction = 'enroll' | 'deny' | 'bypass';

export interface SignOnPolicyOptions<User = any, Req = any> {
  /** Methods a user may answer with. Default ['email'], the only one so far. */
  methods?: Array<'email'>;
  /** Skips MFA when it answers true (an admin, say). */
  skip?: (user: User, req: Req) => boolean | Promise<boolean>;
  /** Skips MFA for clients in these CIDR ranges ('10.0.0.0/8', '::1/128'). */
  skipNetworks?: string[];
  /** Skips MFA when this browser completed MFA for the user within this time. Default false. */
  skipWithin?: Duration | false;
  /** A user with no active device pairs one during sign-on ('enroll'), is refused ('deny') or signs on with the password only ('bypass'). Default 'enroll'. */
  noDevice?: NoDeviceAction;
  /** During sign-on pairing, only the address on the user's profile ('profile') or any address ('any'). Default 'profile'. */
  enrollAddress?: 'profile' | 'any';
  /** An MFA request through the API without a device goes to the default device ('default'), or, when the user has several, asks to pick one ('prompt'). Default 'default'. */
  deviceSelection?: 'default' | 'prompt';
}

export interface EmailMethodOptions {
  /** Digits in a code, 6 to 10. Default 6. */
  otpLength?: number;
  /** How long a code is valid. Default '10m'. */
  otpLifetime?: Duration;
  /** Wrong tries that kill a code. Default 3. */
  attemptsPerCode?: number;
  /** Wrong codes within lockWindow that lock the user's MFA. Default 10. */
  lockAfter?: number;
  /** Default '15m'. */
  lockWindow?: Duration;
  /** How long the lock lasts. Default '15m'. */
  lockDuration?: Duration;
  /** Wait before another code can be sent for the same challenge. Default '30s'. */
  resendCooldown?: Duration;
  /** Codes a user can be sent within sendWindow. Default 5. */
  sendLimit?: number;
  /** Default '15m'. */
  sendWindow?: Duration;
  /** Pairing codes one address can be sent within sendWindow, whichever accounts ask. Default 5. */
  recipientSendLimit?: number;
  /** Devices a user can have. Default 5. */
  maxDevices?: number;
  /** Ask for a nickname when pairing. Default true. */
  nickname?: boolean;
}

export interface MfaOptions<User = any> {
  /** Key for the HMAC of stored codes and signed cookies, at least 32 bytes. Required when NODE_ENV=production. */
  secret?: string | Buffer;
  /** Where MFA state lives. Default: in memory (one process only). */
  store?: MfaStore;
  /** The app's Passport Authenticator. Default: the `passport` package's default instance. */
  passport?: PassportLike;
  /** Where the pages and the API are mounted. Default '/mfa'. */
  basePath?: string;
  /** The app's sign-on page, where visitors without a session are sent. Default '/login'. */
  loginPath?: string;
  /** Where to go after sign-on when there is no returnTo. Default '/'. */
  successRedirect?: string;
  /** The app's home, linked from every page. Default: successRedirect. */
  homePath?: string;
  /** The app's sign-out route (a POST, as Passport recommends), offered on every page to a signed-on user. Default: none. */
  signOutPath?: string;
  /** How to read the app's user. Default: `String(user.id)` and `user.email`. */
  user?: {
    id?: (user: User) => string;
    email?: (user: User) => string | null | undefined;
  };
  email?: {
    /** A nodemailer transport. Default: codes are written to the log (refused in production). */
    transport?: MailTransport;
    /** Default 'no-reply@localhost'. */
    from?: string;
  };
  /** The default sign-on policy. */
  policy?: SignOnPolicyOptions<User>;
  /** Named policies, chosen with auth.authenticate(strategy, { policy: name }). */
  policies?: Record<string, SignOnPolicyOptions<User>>;
  /** The device authentication policy per method. */
  methods?: { email?: EmailMethodOptions };
  /** Adding or removing a method needs an MFA within this time. Default '10m'. */
  recentMfa?: Duration;
  /** The app's own folders of templates, searched before the library's. */
  views?: string | string[];
  /** Send a strict Content-Security-Policy with the pages. Default true. */
  contentSecurityPolicy?: boolean;
  /** Default: console. */
  logger?: Logger;
  /** Whether the request may manage other users' devices (and unlock users) through the API. Default: nobody may. */
  admin?: (req: any) => boolean | Promise<boolean>;
  /** Managing other users (reading their methods too) needs the administrator's own MFA within recentMfa. Default true. */
  adminRequiresMfa?: boolean;
  /** The language for a request: return a tag such as 'fr' or 'de-CH', or nothing to follow Accept-Language. */
  locale?: (req: any, user: User | undefined) => string | null | undefined;
  /** Messages by language: a new language, or single messages that replace the shipped ones ({ en: { 'challenge.title': '…' } }). */
  messages?: Record<string, Record<string, string>>;
  /** The app's name, logo and an extra stylesheet, on every page and email. */
  branding?: Branding;
}

export interface Branding {
  /** Shown in page titles, the page header and emails. */
  productName?: string;
  /** A same-origin path ('/logo.svg') or an https URL; emails need an absolute https URL to show it. */
  logoUrl?: string;
  /** Loaded after the library's stylesheet, so that its rules win. */
  stylesheetUrl?: string;
}

/** The part of Passport's Authenticator that express-mfa uses. */
export interface PassportLike {
  use(name: string, strategy: unknown): unknown;
  authenticate(strategy: string | string[], options: object, callback?: (...args: any[]) => void): any;
  serializeUser(user: unknown, req: unknown, done: (err: unknown, id?: unknown) => void): void;
  deserializeUser(id: unknown, req: unknown, done: (err: unknown, user?: unknown) => void): void;
}

export interface ResolvedPolicy<User = any> {
  name: string;
  methods: Array<'email'>;
  skip?: (user: User, req: unknown) => boolean | Promise<boolean>;
  skipNetworks?: BlockList;
  skipWithinMs: number | false;
  noDevice: NoDeviceAction;
  enrollAddress: 'profile' | 'any';
  deviceSelection: 'default' | 'prompt';
}

export interface ResolvedEmailMethod {
  otpLength: number;
  otpLifetimeMs: number;
  attemptsPerCode: number;
  lockAfter: number;
  lockWindowMs: number;
  lockDurationMs: number;
  resendCooldownMs: number;
  sendLimit: number;
  sendWindowMs: number;
  recipientSendLimit: number;
  maxDevices: number;
  nickname: boolean;
}

export interface ResolvedOptions<User = any> {
  secret: Buffer;
  secretGenerated: boolean;
  store?: MfaStore;
  passport?: PassportLike;
  basePath: string;
  loginPath: string;
  successRedirect: string;
  homePath: string;
  signOutPath?: string;
  user: { id: (user: User) => string; email: (user: User) => string | null | undefined };
  email: { transport?: MailTransport; from: string };
  policies: Map<string, ResolvedPolicy<User>>;
  emailMethod: ResolvedEmailMethod;
  recentMfaMs: number;
  views: string[];
  contentSecurityPolicy: boolean;
  logger: Logger;
  admin?: (req: unknown) => boolean | Promise<boolean>;
  adminRequiresMfa: boolean;
  locale?: (req: unknown, user: User | undefined) => string | null | undefined;
  messages: Record<string, Record<string, string>>;
  branding: Branding;
  production: boolean;
}

export const DEFAULT_POLICY = 'default';

const TOP_KEYS = [
  'secret', 'store', 'passport', 'basePath', 'loginPath', 'successRedirect', 'homePath', 'signOutPath', 'user', 'email', 'policy',
  'policies', 'methods', 'recentMfa', 'views', 'contentSecurityPolicy', 'logger', 'admin', 'adminRequiresMfa', 'locale', 'messages', 'branding',
] as const;
const POLICY_KEYS = ['methods', 'skip', 'skipNetworks', 'skipWithin', 'noDevice', 'enrollAddress', 'deviceSelection'] as const;
const METHOD_KEYS = [
  'otpLength', 'otpLifetime', 'attemptsPerCode', 'lockAfter', 'lockWindow', 'lockDuration',
  'resendCooldown', 'sendLimit', 'sendWindow', 'recipientSendLimit', 'maxDevices', 'nickname',
] as const;

export const EMAIL_METHOD_DEFAULTS: ResolvedEmailMethod = {
  otpLength: 6,
  otpLifetimeMs: 10 * 60_000,
  attemptsPerCode: 3,
  lockAfter: 10,
  lockWindowMs: 15 * 60_000,
  lockDurationMs: 15 * 60_000,
  resendCooldownMs: 30_000,
  sendLimit: 5,
  sendWindowMs: 15 * 60_000,
  recipientSendLimit: 5,
  maxDevices: 5,
  nickname: true,
};

function fail(message: string): never {
  throw new TypeError(`express-mfa: ${message}`);
}

/** Throws a TypeError naming the closest known key for any unknown one. */
function checkKeys(where: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const guess = closest(key, known);
    fail(`unknown option ${where}${key}.${guess ? ` Did you mean ${where}${guess}?` : ''} Known options: ${known.join(', ')}.`);
  }
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function duration(name: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const ms = typeof value === 'number' || typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined) fail(`${name} must be milliseconds or a string such as '30s', '10m', '1h'; got ${JSON.stringify(value)}.`);
  if (ms < min) fail(`${name} must be at least ${min} ms; got ${JSON.stringify(value)}.`);
  return ms;
}

function integer(name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`${name} must be a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

function path(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\/[^\s?#]*$/.test(value) || value.startsWith('//')) {
    fail(`${name} must be a path starting with '/', such as '${fallback}'; got ${JSON.stringify(value)}.`);
  }
  return value.length > 1 ? value.replace(/\/+$/, '') : value;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) fail(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}; got ${JSON.stringify(value)}.`);
  return value as T;
}

function networks(name: string, value: unknown): BlockList | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) fail(`${name} must be an array of CIDR ranges such as ['10.0.0.0/8'].`);
  const list = new BlockList();
  for (const range of value) {
    const match = typeof range === 'string' ? /^([^/]+)(?:\/(\d{1,3}))?$/.exec(range.trim()) : null;
    const family = match ? isIP(match[1]!) : 0;
    const prefix = match?.[2] === undefined ? (family === 6 ? 128 : 32) : Number(match[2]);
    if (!match || family === 0 || prefix > (family === 6 ? 128 : 32)) {
      fail(`${name} has ${JSON.stringify(range)}, which is not a CIDR range such as '10.0.0.0/8' or '2001:db8::/32'.`);
    }
    list.addSubnet(match[1]!, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

function resolvePolicy<User>(name: string, where: string, value: unknown): ResolvedPolicy<User> {
  if (value === undefined) value = {};
  if (!isObject(value)) fail(`${where} must be an object.`);
  checkKeys(`${where}.`, value, POLICY_KEYS);
  const methods = value.methods ?? ['email'];
  if (!Array.isArray(methods) || methods.length === 0 || methods.some((m) => m !== 'email')) {
    fail(`${where}.methods must be a non-empty array of permitted methods; the only method so far is 'email'.`);
  }
  if (value.skip !== undefined && typeof value.skip !== 'function') fail(`${where}.skip must be a function (user, req) => boolean.`);
  return {
    name,
    methods: methods as Array<'email'>,
    skip: value.skip as ResolvedPolicy<User>['skip'],
    skipNetworks: networks(`${where}.skipNetworks`, value.skipNetworks),
    skipWithinMs: value.skipWithin === false || value.skipWithin === undefined ? false : duration(`${where}.skipWithin`, value.skipWithin, 0, 1000),
    noDevice: oneOf(`${where}.noDevice`, value.noDevice, ['enroll', 'deny', 'bypass'] as const, 'enroll'),
    enrollAddress: oneOf(`${where}.enrollAddress`, value.enrollAddress, ['profile', 'any'] as const, 'profile'),
    deviceSelection: oneOf(`${where}.deviceSelection`, value.deviceSelection, ['default', 'prompt'] as const, 'default'),
  };
}

function resolveEmailMethod(value: unknown): ResolvedEmailMethod {
  if (value === undefined) return { ...EMAIL_METHOD_DEFAULTS };
  if (!isObject(value)) fail('methods.email must be an object.');
  checkKeys('methods.email.', value, METHOD_KEYS);
  const d = EMAIL_METHOD_DEFAULTS;
  if (value.nickname !== undefined && typeof value.nickname !== 'boolean') fail('methods.email.nickname must be true or false.');
  return {
    otpLength: integer('methods.email.otpLength', value.otpLength, d.otpLength, 6, 10),
    otpLifetimeMs: duration('methods.email.otpLifetime', value.otpLifetime, d.otpLifetimeMs, 30_000),
    attemptsPerCode: integer('methods.email.attemptsPerCode', value.attemptsPerCode, d.attemptsPerCode, 1, 10),
    lockAfter: integer('methods.email.lockAfter', value.lockAfter, d.lockAfter, 1),
    lockWindowMs: duration('methods.email.lockWindow', value.lockWindow, d.lockWindowMs, 1000),
    lockDurationMs: duration('methods.email.lockDuration', value.lockDuration, d.lockDurationMs, 1000),
    resendCooldownMs: duration('methods.email.resendCooldown', value.resendCooldown, d.resendCooldownMs),
    sendLimit: integer('methods.email.sendLimit', value.sendLimit, d.sendLimit, 1),
    sendWindowMs: duration('methods.email.sendWindow', value.sendWindow, d.sendWindowMs, 1000),
    recipientSendLimit: integer('methods.email.recipientSendLimit', value.recipientSendLimit, d.recipientSendLimit, 1),
    maxDevices: integer('methods.email.maxDevices', value.maxDevices, d.maxDevices, 1, 100),
    nickname: (value.nickname as boolean | undefined) ?? d.nickname,
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

  const policies = new Map<string, ResolvedPolicy<User>>();
  policies.set(DEFAULT_POLICY, resolvePolicy<User>(DEFAULT_POLICY, 'policy', options.policy));
  if (options.policies !== undefined) {
    if (!isObject(options.policies)) fail('policies must be an object of named policies: { admins: { ... } }.');
    for (const [name, policy] of Object.entries(options.policies)) {
      if (name === DEFAULT_POLICY) fail(`policies.${DEFAULT_POLICY} is reserved: set the default with the policy option.`);
      policies.set(name, resolvePolicy<User>(name, `policies.${name}`, policy));
    }
  }

  if (options.methods !== undefined) {
    if (!isObject(options.methods)) fail('methods must be an object: { email: { ... } }.');
    checkKeys('methods.', options.methods, ['email']);
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
    emailMethod: resolveEmailMethod(options.methods?.email),
    recentMfaMs: duration('recentMfa', options.recentMfa, 10 * 60_000, 1000),
    views,
    contentSecurityPolicy: options.contentSecurityPolicy ?? true,
    logger,
    admin: options.admin,
    adminRequiresMfa: options.adminRequiresMfa ?? true,
    locale: options.locale as ResolvedOptions<User>['locale'],
    messages: messages as Record<string, Record<string, string>>,
    branding: branding as Branding,
    production,
  };
}

/** `String(user.id)`, for the usual user object; anything else needs options.user.id. */
function defaultId(user: unknown): string {
  const id = (user as { id?: unknown } | null)?.id;
  if ((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id)) || typeof id === 'bigint') return String(id);
  throw new TypeError("express-mfa: the user has no id field that is a string or a number; pass user: { id: (u) => String(u.yourIdField) } to mfa().");
}

function defaultEmail(user: unknown): string | undefined {
  const email = (user as { email?: unknown } | null)?.email;
  return typeof email === 'string' ? email : undefined;
}

const consoleLogger: Logger = {
  info: (message) => console.log(`[express-mfa] ${message}`),
  warn: (message) => console.warn(`[express-mfa] ${message}`),
  error: (message, error) => console.error(`[express-mfa] ${message}`, error ?? ''),
};
