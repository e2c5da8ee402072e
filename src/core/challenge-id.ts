import { NotFoundError } from './errors.js';

// A challenge id given to the app or an API client carries its user, so that
// verify(id, otp) needs nothing else and the store keeps each user's keys together.
export function publicChallengeId(userId: string, id: string): string {
  return `${Buffer.from(userId, 'utf8').toString('base64url')}.${id}`;
}

export function parseChallengeId(value: unknown): { userId: string; id: string } {
  const match = typeof value === 'string' ? /^([A-Za-z0-9_-]+)\.([0-9a-f-]{36})$/.exec(value) : null;
  if (!match) throw new NotFoundError('No such authentication.');
  return { userId: Buffer.from(match[1]!, 'base64url').toString('utf8'), id: match[2]! };
}
