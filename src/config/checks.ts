import { BlockList, isIP } from 'node:net';
import { parseDuration } from '../duration.js';

export function fail(message: string): never {
  throw new TypeError(`express-mfa: ${message}`);
}

/** Throws a TypeError naming the closest known key for any unknown one. */
export function checkKeys(where: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const guess = closest(key, known);
    fail(`unknown option ${where}${key}.${guess ? ` Did you mean ${where}${guess}?` : ''} Known options: ${known.join(', ')}.`);
  }
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function duration(name: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const ms = typeof value === 'number' || typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined) fail(`${name} must be milliseconds or a string such as '30s', '10m', '1h'; got ${JSON.stringify(value)}.`);
  if (ms < min) fail(`${name} must be at least ${min} ms; got ${JSON.stringify(value)}.`);
  return ms;
}

export function integer(name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`${name} must be a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

export function path(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\/[^\s?#]*$/.test(value) || value.startsWith('//')) {
    fail(`${name} must be a path starting with '/', such as '${fallback}'; got ${JSON.stringify(value)}.`);
  }
  return value.length > 1 ? value.replace(/\/+$/, '') : value;
}

export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) fail(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}; got ${JSON.stringify(value)}.`);
  return value as T;
}

export function networks(name: string, value: unknown): BlockList | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) fail(`${name} must be an array of CIDR ranges such as ['10.0.0.0/8'].`);
  const list = new BlockList();
  for (const range of value) {
    const match = typeof range === 'string' ? /^([^/]+)(?:\/(\d{1,3}))?$/.exec(range.trim()) : null;
    const family = match ? isIP(match[1]!) : 0;
    const prefix = match?.[2] === undefined ? (family === 6 ? 128 : 32) : Number(match[2]);
    if (!match || family === 0 || prefix > (family === 6 ? 128 : 32)) {
      fail(`${name} has ${JSON.stringify(range)}, which is not a CIDR range such as '10.0.0.0/8' or '2001:db8::/32'.`);
    }
    list.addSubnet(match[1]!, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}
