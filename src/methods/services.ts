import type { Branding } from '../config/contracts.js';
import type { EventBus } from '../core/events.js';
import type { UserLimits } from '../core/rules.js';
import type { EmailSender } from '../delivery/email.js';
import type { Translator } from '../i18n/translator.js';
import type { MfaStore } from '../stores/types.js';

/** What methods are built from; mfa() wires one of these. */
export interface MethodServices {
  store: MfaStore;
  /** The library's secret: HMACs of codes, and the key that seals stored secrets. */
  secret: Buffer;
  events: EventBus;
  limits: UserLimits;
  mail: EmailSender;
  branding: Branding;
  /** The messages a method builds itself (a text message's), in the request's language. */
  translator: Translator;
  now: () => number;
}
