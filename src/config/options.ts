import type { Duration } from '../duration.js';
import type { MfaStore } from '../stores/types.js';
import type { Branding, Logger, MailTransport, PassportLike, RateLimitStore } from './contracts.js';
import type { NoDeviceAction } from './resolved.js';
import type { MethodsOptions, MethodType, NewDeviceNotification } from '../methods/registry.js';

export type { Branding, Logger, MailMessage, MailTransport, PassportLike, RateLimitStore } from './contracts.js';
export type { NoDeviceAction } from './resolved.js';
export type { MethodsOptions, MethodType, NewDeviceNotification } from '../methods/registry.js';
export type { EmailMethodOptions } from '../methods/email/options.js';
export type { TotpMethodOptions } from '../methods/totp/options.js';
export type { PhoneMessage, PhoneMethodOptions, PhoneSender } from '../methods/phone/options.js';

export interface SignOnPolicyOptions<User = any, Req = any> {
  /** Methods a user may answer with, recovery codes included ('recovery'). Default: every method that is on, and recovery codes. */
  methods?: MethodType[];
  /** Skips MFA when it answers true (an admin, say). */
  skip?: (user: User, req: Req) => boolean | Promise<boolean>;
  /** Skips MFA for clients in these CIDR ranges ('10.0.0.0/8', '::1/128'). */
  skipNetworks?: string[];
  /**
   * Offers "Trust this browser" at the end of an MFA sign-on: a browser the
   * user trusts skips MFA on later sign-ons for this long (at most 90 days),
   * until the user's methods change or the trust is revoked. Default false.
   */
  trustBrowser?: Duration | false;
  /** A user with no active device pairs one during sign-on ('enroll'), is refused ('deny') or signs on with the password only ('bypass'). Default 'enroll'. */
  noDevice?: NoDeviceAction;
  /** During sign-on pairing, only the address on the user's profile ('profile') or any address ('any'). Default 'profile'. */
  enrollAddress?: 'profile' | 'any';
  /** An MFA request through the API without a device goes to the default device ('default'), or, when the user has several, asks to pick one ('prompt'). Default 'default'. */
  deviceSelection?: 'default' | 'prompt';
}

/** Rules per user, across all of the user's methods (PingOne keeps them in its MFA settings, not per method). */
export interface LimitsOptions {
  /** Wrong answers within lockWindow that lock the user's MFA. Default 10. */
  lockAfter?: number;
  /** Default '15m'. */
  lockWindow?: Duration;
  /** How long the lock lasts. Default '15m'. */
  lockDuration?: Duration;
  /** Codes a user can be sent within sendWindow, whatever the method. Default 5. */
  sendLimit?: number;
  /** Default '15m'. */
  sendWindow?: Duration;
  /** Pairing codes one recipient (an address) can be sent within sendWindow, whichever accounts ask. Default 5. */
  recipientSendLimit?: number;
  /** Methods a user can have, active and blocked counted. Default 5. */
  maxDevices?: number;
}

/**
 * The limit per client address (`req.ip`; an IPv6 address by its /56) on the
 * library's POSTs (and every other write) under basePath, across users and
 * instances: a flood from one address is refused before any session or store
 * work that can be skipped, and cannot slow everyone else down.
 */
export interface RateLimitOptions {
  /** Writes one address may send within `window`. Default 100. */
  limit?: number;
  /** Default '1m'. */
  window?: Duration;
  /** An express-rate-limit Store to count in instead. Default: the MFA store (`store`), shared by every instance that shares it. */
  store?: RateLimitStore;
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
  /** The device authentication policy per method: enabled, pairingDisabled, nickname, and each method's own. */
  methods?: MethodsOptions;
  /** Rules per user across methods: lockout, sends, how many methods. */
  limits?: LimitsOptions;
  /** Per client address, on the library's writes: false turns it off. Default { limit: 100, window: '1m' }. */
  rateLimit?: RateLimitOptions | false;
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
  /** Which methods tell the user that a method was added or removed: email, else text messages ('EMAIL_THEN_SMS'), the other way round, or 'NONE'. Default 'EMAIL_THEN_SMS'. */
  newDeviceNotification?: NewDeviceNotification;
}
