import { NotFoundError } from './errors.js';

/** What an answer is given to: a stored challenge (a code sent, a ceremony), the device it is for, or both. */
export interface AnswerTarget {
  challengeId?: string;
  deviceId?: string;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const FORMAT = new RegExp(`^([A-Za-z0-9_-]+)\\.(?:d\\.(${UUID})(?:\\.(${UUID}))?|(${UUID}))$`);

// A challenge id given to the app or an API client carries its user, so that
// verify(id, otp) needs nothing else and the store keeps each user's keys
// together, and its device ('d.'), so that an answer is checked against the
// device it was asked of. A device that makes its own codes has no stored
// challenge: its id names the device alone.
export function publicChallengeId(userId: string, target: AnswerTarget): string {
  const user = Buffer.from(userId, 'utf8').toString('base64url');
  if (target.deviceId === undefined) return `${user}.${target.challengeId}`;
  return `${user}.d.${target.deviceId}${target.challengeId === undefined ? '' : `.${target.challengeId}`}`;
}

export function parseChallengeId(value: unknown): { userId: string; target: AnswerTarget } {
  const match = typeof value === 'string' ? FORMAT.exec(value) : null;
  if (!match) throw new NotFoundError('No such authentication.');
  const userId = Buffer.from(match[1]!, 'base64url').toString('utf8');
  const target: AnswerTarget = match[4] !== undefined
    ? { challengeId: match[4] }
    : { deviceId: match[2]!, ...(match[3] === undefined ? {} : { challengeId: match[3] }) };
  return { userId, target };
}
