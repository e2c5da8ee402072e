import { createHmac, randomInt, randomUUID } from 'node:crypto';
import type { ChallengePurpose } from '../../stores/types.js';

/** A uniformly random code of `length` decimal digits, leading zeros kept. */
export function generateCode(length: number): string {
  let code = '';
  // randomInt takes ranges below 2^48; digit by digit keeps every length exact.
  for (let i = 0; i < length; i++) code += randomInt(10);
  return code;
}

/**
 * The stored form of a code. The HMAC binds the code to its user, challenge and
 * purpose, so a code answers only the challenge it was sent for, and a copy
 * of the store alone is no help without the secret.
 */
export function hashCode(
  secret: Buffer,
  binding: { userId: string; challengeId: string; purpose: ChallengePurpose },
  code: string,
): string {
  return createHmac('sha256', secret)
    .update(`${binding.purpose}\0${binding.userId}\0${binding.challengeId}\0${code}`)
    .digest('hex');
}

export function newId(): string {
  return randomUUID();
}

/** Spaces and dashes that people type or paste are ignored. */
export function normalizeCode(input: unknown): string | undefined {
  if (typeof input !== 'string') return undefined;
  const code = input.replace(/[\s-]/g, '');
  return /^\d+$/.test(code) ? code : undefined;
}
