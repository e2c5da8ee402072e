import { randomBytes } from 'node:crypto';
import type { MfaStore } from '../stores/types.js';

/**
 * Security stamps: every "verified recently on this browser" proof of a
 * user is signed together with the user's current stamp, so that renewing
 * the stamp ends every such proof at once, on every instance. It is renewed
 * before any change to the user's methods (a renewal that succeeds while the
 * change fails costs the user one more MFA; the other order could leave a
 * proof alive after the change).
 */
export class SecurityStamps {
  constructor(private readonly store: MfaStore) {}

  current(userId: string): Promise<string> {
    return this.store.getStamp(userId, fresh());
  }

  renew(userId: string): Promise<void> {
    return this.store.renewStamp(userId, fresh());
  }
}

function fresh(): string {
  return randomBytes(16).toString('base64url');
}
