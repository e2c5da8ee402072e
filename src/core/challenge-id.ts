import { NotFoundError } from './errors.js';

/** What an answer is given to: a stored challenge of a code sent, or a device that makes its own codes. */
export interface AnswerTarget {
  challengeId?: string;
  deviceId?: string;
}

// A challenge id given to the app or an API client carries its user, so that
// verify(id, otp) needs nothing else and the store keeps each user's keys
// together. A device that sends nothing has no stored challenge: its id
// names the device ('d.'), and its codes are single use on their own.
export function publicChallengeId(userId: string, target: AnswerTarget): string {
  const user = Buffer.from(userId, 'utf8').toString('base64url');
  return target.challengeId !== undefined ? `${user}.${target.challengeId}` : `${user}.d.${target.deviceId}`;
}

export function parseChallengeId(value: unknown): { userId: string; target: AnswerTarget } {
  const match = typeof value === 'string' ? /^([A-Za-z0-9_-]+)\.(d\.)?([0-9a-f-]{36})$/.exec(value) : null;
  if (!match) throw new NotFoundError('No such authentication.');
  const userId = Buffer.from(match[1]!, 'base64url').toString('utf8');
  return { userId, target: match[2] ? { deviceId: match[3]! } : { challengeId: match[3]! } };
}
