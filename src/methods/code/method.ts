import { NotFoundError, OtpError } from '../../core/errors.js';
import type { AuthenticationMethod, Prompt } from '../method.js';
import type { CodeChallenges } from './challenges.js';

/**
 * The prompting and answering half of a method whose codes are sent through
 * a channel (email; SMS and voice later): prompting sends a code under a
 * stored challenge, and an answer must name that challenge.
 */
export function codeMethodSteps(challenges: CodeChallenges): Pick<AuthenticationMethod, 'prompt' | 'resend' | 'cancel' | 'answer'> {
  const prompted = (challenge: { id: string; sentTo: string; expiresAt: Date }): Prompt => ({
    challengeId: challenge.id,
    sentTo: challenge.sentTo,
    expiresAt: challenge.expiresAt.getTime(),
  });
  return {
    prompt: async (device, purpose, context) => prompted(await challenges.start(device, purpose, context)),
    resend: async (device, challengeId, context) => prompted(await challenges.resend(device, challengeId, context)),
    cancel: (userId, challengeId) => challenges.cancel(userId, challengeId),
    async answer(device, prompt, input, purpose, context) {
      if (prompt.challengeId === undefined) throw new OtpError('OTP_EXPIRED', 'This code has expired or was already used. Send a new code.');
      const answered = await challenges.verify(device.userId, prompt.challengeId, input, purpose, context, device.id);
      // A challenge id paired with another device's (a forged API id): the code is spent, and answers nothing.
      if (answered.deviceId !== device.id) throw new NotFoundError('No such authentication.');
    },
  };
}
