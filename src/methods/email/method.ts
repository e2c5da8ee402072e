import type { EmailSender } from '../../delivery/email.js';
import type { AuthenticationMethod } from '../method.js';
import { CodeChallenges, type CodeChannel } from '../code/challenges.js';
import { codeMethodSteps } from '../code/method.js';
import type { MethodServices } from '../services.js';
import { maskEmailAddress, parseEmailAddress } from './address.js';
import { emailOf } from './data.js';
import type { ResolvedEmailMethod } from './options.js';

export const EMAIL = 'email';

/** One inbox however it is spelt: case ignored, and a '+tag' too (name+1@ and name+2@ reach the same person). */
function mailbox(address: string): string {
  const lower = address.toLowerCase();
  const at = lower.lastIndexOf('@');
  const plus = lower.indexOf('+');
  return plus > 0 && plus < at ? lower.slice(0, plus) + lower.slice(at) : lower;
}

function emailChannel(sender: EmailSender): CodeChannel {
  return {
    sendCode: (device, purpose, data, locale) => sender.send(purpose, emailOf(device), { ...data, purpose }, locale),
    recipient: (device) => mailbox(emailOf(device)),
    masked: (device) => maskEmailAddress(emailOf(device)),
  };
}

/** Codes sent by email: the device is an address, proved by the first code sent to it. */
export function emailMethod(settings: ResolvedEmailMethod, services: MethodServices): AuthenticationMethod {
  const challenges = new CodeChallenges(services.store, emailChannel(services.mail), settings, services.limits, services.secret, services.events, services.now);
  return {
    type: EMAIL,
    amr: 'otp',
    settings,
    sends: true,
    profileField: 'email',
    newDevice: (input) => ({ email: parseEmailAddress(input.email) }),
    key: (data) => String(data.email).toLowerCase(),
    ...codeMethodSteps(challenges),
    describe(device) {
      const email = emailOf(device);
      return { label: email, masked: maskEmailAddress(email), fields: { email } };
    },
    notice: {
      recipient: (device) => mailbox(emailOf(device)),
      send: (device, kind, data, locale) => services.mail.send(kind, emailOf(device), data, locale),
    },
    api: {
      fields: { email: { type: 'string', format: 'email' } },
      create: { email: { type: 'string' } },
      createRequired: ['email'],
      inputs: { pairing: 'otp', answer: 'otp' },
      answerSchema: { pairing: { type: 'string', pattern: '^[0-9 -]+$' }, answer: { type: 'string', pattern: '^[0-9 -]+$' } },
    },
  };
}
