import { DeliveryError } from '../../core/errors.js';
import type { Translator } from '../../i18n/translator.js';
import type { ChallengePurpose } from '../../stores/types.js';
import { CodeChallenges, type CodeChannel } from '../code/challenges.js';
import { codeMethodSteps } from '../code/method.js';
import type { AuthenticationMethod } from '../method.js';
import type { MethodServices } from '../services.js';
import { phoneOf } from './data.js';
import { formatPhoneNumber, maskPhoneNumber, parsePhoneNumber, spokenCode } from './number.js';
import type { PhoneSender, ResolvedPhoneMethod } from './options.js';

export const SMS = 'sms';
export const VOICE = 'voice';
type PhoneChannel = typeof SMS | typeof VOICE;

/** The message of a code: `sms.<purpose>` or `voice.<purpose>` in the request's language, the code read digit by digit on a call. */
export function phoneText(translator: Translator, channel: PhoneChannel, purpose: ChallengePurpose, code: string, locale: string, product: string): string {
  return translator.t(locale, `${channel}.${purpose}`, { product, code, spokenCode: spokenCode(code) });
}

function phoneChannel(channel: PhoneChannel, send: PhoneSender, services: MethodServices): CodeChannel {
  const product = services.branding.productName ?? 'express-mfa';
  return {
    async sendCode(device, purpose, data, locale = 'en') {
      const to = phoneOf(device);
      const text = phoneText(services.translator, channel, purpose, data.code, locale, product);
      try {
        await send({ to, code: data.code, text, locale, purpose, channel });
      } catch (error) {
        // The gateway is down or refused: an outage, and CodeChallenges undoes the challenge.
        throw new DeliveryError(error);
      }
    },
    // One phone however it was typed: the number is E.164 already.
    recipient: (device) => `tel:${phoneOf(device)}`,
    masked: (device) => maskPhoneNumber(phoneOf(device)),
  };
}

/**
 * Codes sent to a phone, by text message (`sms`) or read out by a call
 * (`voice`), through the app's `send`: the device is a number, proved by the
 * first code sent to it. One number is one device of each method.
 */
function phoneMethod(channel: PhoneChannel, settings: ResolvedPhoneMethod, services: MethodServices): AuthenticationMethod {
  // Off without a gateway: a sender that refuses keeps the method whole should it be asked anyway.
  const send: PhoneSender = settings.send ?? (() => Promise.reject(new Error(`methods.${channel}.send is not set`)));
  const challenges = new CodeChallenges(services.store, phoneChannel(channel, send, services), settings, services.limits, services.secret, services.events, services.now);
  return {
    type: channel,
    // RFC 8176: 'sms' for a text message, 'tel' for a telephone call.
    amr: channel === SMS ? 'sms' : 'tel',
    settings,
    sends: true,
    newDevice: (input) => ({ phone: parsePhoneNumber(input.phone, settings.defaultCountry) }),
    key: (data) => String(data.phone),
    ...codeMethodSteps(challenges),
    // A call is no place for a notice: only text messages carry them.
    ...(channel === SMS ? {
      notice: {
        recipient: (device) => `tel:${phoneOf(device)}`,
        async send(device, kind, data, locale = 'en') {
          const product = services.branding.productName ?? 'express-mfa';
          const what = (data.address as string | null | undefined) || services.translator.t(locale, `method.${String(data.method)}`);
          const text = services.translator.t(locale, `sms.notice.${kind}`, { product, address: what, remaining: Number(data.remaining ?? 0) });
          try {
            await send({ to: phoneOf(device), code: '', text, locale, purpose: 'notice', channel });
          } catch (error) {
            throw new DeliveryError(error);
          }
        },
      },
    } satisfies Pick<AuthenticationMethod, 'notice'> : {}),
    describe(device) {
      const phone = phoneOf(device);
      return { label: formatPhoneNumber(phone), masked: maskPhoneNumber(phone), fields: { phone } };
    },
    api: {
      fields: { phone: { type: 'string', pattern: '^\\+[1-9][0-9]{6,14}$' } },
      create: { phone: { type: 'string' } },
      createRequired: ['phone'],
      inputs: { pairing: 'otp', answer: 'otp' },
      answerSchema: { pairing: { type: 'string', pattern: '^[0-9 -]+$' }, answer: { type: 'string', pattern: '^[0-9 -]+$' } },
    },
  };
}

export const smsMethod = (settings: ResolvedPhoneMethod, services: MethodServices) => phoneMethod(SMS, settings, services);
export const voiceMethod = (settings: ResolvedPhoneMethod, services: MethodServices) => phoneMethod(VOICE, settings, services);
