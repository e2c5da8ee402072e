import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/duration.js';

describe('parseDuration', () => {
  it.each([
    [0, 0],
    [1500, 1500],
    ['250ms', 250],
    ['30s', 30_000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['1.5h', 5_400_000],
    ['0.5s', 500],
    [' 5 m ', 300_000],
    ['0s', 0],
  ])('reads %j as %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([
    ['', ''],
    ['a bare number in a string', '10'],
    ['an unknown unit', '10x'],
    ['a spelt-out unit', '10 minutes'],
    ['an upper-case unit', '10M'],
    ['a negative string', '-5s'],
    ['two parts', '1h30m'],
    ['a negative number', -1],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a leading dot', '.5s'],
  ])('refuses %s', (_label, input) => {
    expect(parseDuration(input as string | number)).toBeUndefined();
  });
});
