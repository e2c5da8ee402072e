import { randomBytes } from 'node:crypto';
import { createClient, type RedisClientType } from 'redis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** What these helpers use of a client, the same in every supported major of `redis`. */
interface TestClient {
  on(event: 'error', listener: () => void): unknown;
  connect(): Promise<unknown>;
  ping(): Promise<unknown>;
  scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]>;
  del(keys: string[]): Promise<unknown>;
}

/** The options every test client is made with: fail fast, never reconnect. */
export const clientOptions = (url = REDIS_URL) => ({ url, socket: { connectTimeout: 1000, reconnectStrategy: false as const } });

/**
 * A connected client, or null when Redis does not answer. Under CI a missing
 * Redis is a failure, never a skip.
 */
export async function connectRedis(url = REDIS_URL): Promise<RedisClientType | null> {
  return connectClient(createClient(clientOptions(url)) as RedisClientType, url);
}

/** Connects a client made by any supported major of `redis` (see connectRedis). */
export async function connectClient<C extends TestClient>(client: C, url = REDIS_URL): Promise<C | null> {
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return client;
  } catch (error) {
    if (process.env.CI) throw new Error(`Redis is required under CI and does not answer at ${url}: ${(error as Error).message}`);
    console.warn(`[tests] skipping Redis tests: no Redis at ${url} (${(error as Error).message}). Start redis-server to run them.`);
    return null;
  }
}

export function uniquePrefix(name: string): string {
  return `test:${name}:${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under the prefix, with SCAN (never KEYS). */
export async function deletePrefix(client: TestClient, prefix: string): Promise<void> {
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
    if (keys.length > 0) await client.del(keys);
  }
}
