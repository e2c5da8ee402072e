/** A length of time: milliseconds, or a string such as '30s', '10m', '1h', '7d'. */
export type Duration = number | string;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds for a Duration, or undefined when it is not one. */
export function parseDuration(value: Duration): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}
