import type { BlockList } from 'node:net';
import type { ResolvedMethods } from '../methods/registry.js';
import type { NoticeRouting } from '../core/notices.js';
import type { MfaStore } from '../stores/types.js';
import type { Branding, Logger, MailTransport, PassportLike, RateLimitStore } from './contracts.js';

/** What the policy does with a user who has no active device. */
export type NoDeviceAction = 'enroll' | 'deny' | 'bypass';

export interface ResolvedPolicy<User = any> {
  name: string;
  /** The method types the policy accepts, 'recovery' for recovery codes. */
  methods: string[];
  skip?: (user: User, req: unknown) => boolean | Promise<boolean>;
  skipNetworks?: BlockList;
  /** How long a browser the user trusts at sign-on skips MFA; false: no "Trust this browser". */
  trustBrowserMs: number | false;
  noDevice: NoDeviceAction;
  enrollAddress: 'profile' | 'any';
  deviceSelection: 'default' | 'prompt';
}

export interface ResolvedLimits {
  lockAfter: number;
  lockWindowMs: number;
  lockDurationMs: number;
  sendLimit: number;
  sendWindowMs: number;
  recipientSendLimit: number;
  maxDevices: number;
}

export interface ResolvedRateLimit {
  limit: number;
  windowMs: number;
  /** The app's own; none: the MFA store counts. */
  store?: RateLimitStore;
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
  methods: ResolvedMethods;
  limits: ResolvedLimits;
  rateLimit: ResolvedRateLimit | false;
  recentMfaMs: number;
  views: string[];
  contentSecurityPolicy: boolean;
  logger: Logger;
  admin?: (req: unknown) => boolean | Promise<boolean>;
  adminRequiresMfa: boolean;
  locale?: (req: unknown, user: User | undefined) => string | null | undefined;
  messages: Record<string, Record<string, string>>;
  branding: Branding;
  notices: NoticeRouting;
  production: boolean;
}
