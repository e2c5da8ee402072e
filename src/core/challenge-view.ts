import type { Prompt } from '../methods/method.js';
import type { ChallengePurpose, DeviceRecord } from '../stores/types.js';

/** A challenge as callers see it: never the code, never its hash. */
export interface Challenge {
  /** The stored challenge of a code that was sent; for a device that makes its own codes, the device's prompt. */
  id: string;
  userId: string;
  deviceId: string;
  /** The device's method. */
  type: string;
  purpose: ChallengePurpose;
  /** ASSERTION_REQUIRED: a passkey, to answer with `options` through navigator.credentials.get(). */
  status: 'OTP_REQUIRED' | 'ASSERTION_REQUIRED' | 'COMPLETED';
  /** A passkey's WebAuthn request options (PublicKeyCredentialRequestOptionsJSON). */
  options?: Record<string, unknown>;
  /** When a sent code expires; null for an app's codes, which change every 30 seconds. */
  expiresAt: Date | null;
  /** Where the code went, partly hidden; null when nothing was sent. */
  sentTo: string | null;
}

export function publicChallenge(device: DeviceRecord, purpose: ChallengePurpose, prompt: Prompt, id = prompt.challengeId ?? device.id): Challenge {
  return {
    id,
    userId: device.userId,
    deviceId: device.id,
    type: device.type,
    purpose,
    status: prompt.options ? 'ASSERTION_REQUIRED' : 'OTP_REQUIRED',
    ...(prompt.options ? { options: prompt.options } : {}),
    expiresAt: prompt.expiresAt === undefined ? null : new Date(prompt.expiresAt),
    sentTo: prompt.sentTo ?? null,
  };
}
