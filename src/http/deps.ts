import type { DeviceService } from '../core/devices.js';
import type { EventBus } from '../core/events.js';
import type { PassportLike } from '../config/contracts.js';
import type { ResolvedOptions } from '../config/resolved.js';
import type { Translator } from '../i18n/translator.js';
import type { Authentications } from '../core/authentications.js';
import type { MethodRegistry } from '../methods/registry.js';
import type { RecoveryCodeService } from '../methods/recovery/service.js';
import type { Pages } from './pages.js';
import type { SecurityStamps } from '../core/stamps.js';
import type { TrustedBrowsers } from '../core/trusted-browsers.js';
import type { TrustCookie } from './trust-cookie.js';

/** What the HTTP layer is built from; mfa() wires one of these. */
export interface HttpDeps<User = any> {
  options: ResolvedOptions<User>;
  passport: PassportLike;
  devices: DeviceService;
  authentications: Authentications;
  methods: MethodRegistry;
  recovery: RecoveryCodeService;
  events: EventBus;
  pages: Pages;
  trusted: TrustedBrowsers;
  trustCookie: TrustCookie;
  stamps: SecurityStamps;
  translator: Translator;
  now: () => number;
  /** Logs a warning the first time `key` is seen: a setup the operator should fix, said once, not per request. */
  warnOnce: (key: string, message: string) => void;
}
