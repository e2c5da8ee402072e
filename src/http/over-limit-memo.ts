import type { IncrementResponse, Options, Store } from 'express-rate-limit';

/** Keys remembered at most; past it the oldest is forgotten, and its next request asks the store again. */
const CAPACITY = 10_000;

/**
 * In front of any express-rate-limit Store: learns, in this process, the
 * keys the store found over the limit and when their window ends, so that
 * until then a request of theirs is refused from memory, with no store
 * round trip and no limiter at all. Another instance learns it from the
 * store on its own next hit of that key.
 */
export class OverLimitMemo implements Store {
  readonly localKeys: boolean | undefined;
  readonly prefix: string | undefined;
  private readonly over = new Map<string, number>();

  constructor(
    private readonly inner: Store,
    private readonly limit: number,
    private readonly now: () => number,
  ) {
    this.localKeys = inner.localKeys;
    this.prefix = inner.prefix;
  }

  /** When the key's window ends, while it is over the limit. */
  until(key: string): number | undefined {
    const until = this.over.get(key);
    if (until === undefined || until > this.now()) return until;
    this.over.delete(key);
    return undefined;
  }

  init(options: Options): void | Promise<void> {
    return this.inner.init?.(options);
  }

  async increment(key: string): Promise<IncrementResponse> {
    const info = await this.inner.increment(key);
    if (info.totalHits > this.limit && info.resetTime) this.remember(key, info.resetTime.getTime());
    return info;
  }

  decrement(key: string): void | Promise<void> {
    return this.inner.decrement(key);
  }

  resetKey(key: string): void | Promise<void> {
    this.over.delete(key);
    return this.inner.resetKey(key);
  }

  private remember(key: string, until: number): void {
    if (this.over.size >= CAPACITY) {
      const now = this.now();
      for (const [k, end] of this.over) if (end <= now) this.over.delete(k);
      if (this.over.size >= CAPACITY) this.over.delete(this.over.keys().next().value!);
    }
    this.over.set(key, until);
  }
}
