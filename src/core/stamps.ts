import { randomBytes } from 'node:crypto';
import type { MfaStore } from '../stores/types.js';
import type { EventBus } from './events.js';

/**
 * Security stamps: renewed before any change to the user's methods (added,
 * removed, blocked, an administrator's reset) and by auth.revoke(userId).
 * A renewal also ends every trusted browser of the user: whatever vouched
 * for the user's old methods no longer does. (A renewal that succeeds while
 * the change fails costs the user one more MFA; the other order could leave
 * a trusted browser alive after the change.)
 */
export class SecurityStamps {
  constructor(
    private readonly store: MfaStore,
    private readonly events?: EventBus,
  ) {}

  async renew(userId: string): Promise<void> {
    const ended = await this.store.deleteTrustedBrowsers(userId);
    await this.store.renewStamp(userId, fresh());
    if (ended > 0) this.events?.publish('browser.revoked', userId, {}, { reason: 'changed' });
  }
}

function fresh(): string {
  return randomBytes(16).toString('base64url');
}
