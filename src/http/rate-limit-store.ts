import type { IncrementResponse, Store } from 'express-rate-limit';
import type { MfaStore } from '../stores/types.js';

/** What the writes of every instance sharing the MFA store are counted under. */
const SCOPE = 'writes';

/**
 * express-rate-limit's Store on the MFA store's hit counter: every instance
 * that shares the MFA store (Redis) shares the counts, each hit one atomic
 * step there.
 */
export class MfaRateLimitStore implements Store {
  /** Counts live in the MFA store, not in this process: express-rate-limit's checks read this. */
  readonly localKeys = false;

  constructor(
    private readonly store: MfaStore,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  async increment(key: string): Promise<IncrementResponse> {
    const { hits, resetAt } = await this.store.hit(SCOPE, key, 1, this.windowMs, this.now());
    return { totalHits: hits, resetTime: new Date(resetAt) };
  }

  async decrement(key: string): Promise<void> {
    await this.store.hit(SCOPE, key, -1, this.windowMs, this.now());
  }

  async resetKey(key: string): Promise<void> {
    // A count never goes below 0, and at 0 its window ends: this forgets the key whatever its count.
    await this.store.hit(SCOPE, key, -Number.MAX_SAFE_INTEGER, this.windowMs, this.now());
  }
}
