/** Runs the chosen scenarios in order and collects their rows. */
import { attackScenario, type AttackOptions } from './scenarios/attack.js';
import { floorScenario } from './scenarios/floor.js';
import { gateScenario } from './scenarios/gate.js';
import { memoryScenario } from './scenarios/memory.js';
import { peerScenario, signOnScenario } from './scenarios/signon.js';
import type { BenchOptions, Row } from './lib/report.js';
import { CodeSink } from './lib/sink.js';

export const SCENARIOS = ['gate', 'floor', 'floor-redis', 'floor-postgres', 'signon', 'signon-redis', 'signon-postgres', 'attack', 'peer', 'memory'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const number = (name: string, fallback: number) => {
    const value = env[name] === undefined || env[name] === '' ? fallback : Number(env[name]);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number, got ${env[name]}`);
    return value;
  };
  return {
    seconds: number('BENCH_SECONDS', 5),
    rounds: Math.max(1, Math.round(number('BENCH_ROUNDS', 3))),
    warmup: number('BENCH_WARMUP', 2),
    vus: Math.max(1, Math.round(number('BENCH_VUS', 16))),
    connections: Math.max(1, Math.round(number('BENCH_CONNECTIONS', 32))),
    attackRate: Math.round(number('BENCH_ATTACK_RATE', 1000)),
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    memoryRedisCount: Math.max(1, Math.round(number('BENCH_MEMORY_REDIS', 10_000))),
    memoryHeapCount: Math.max(1, Math.round(number('BENCH_MEMORY_HEAP', 100_000))),
    log: (message) => console.log(message),
  };
}

async function runOne(scenario: Scenario, options: BenchOptions, sink: CodeSink, extra: { attack?: AttackOptions; parallel?: boolean }): Promise<Row[]> {
  options.log(`${scenario}…`);
  switch (scenario) {
    case 'gate':
      if (extra.parallel) {
        // Both sign user0 on at once: with one sink, each could be handed the other's code.
        const second = await CodeSink.start();
        try {
          return await Promise.all([gateScenario(options, sink, 'memory'), gateScenario(options, second, 'redis')]);
        } finally {
          await second.close();
        }
      }
      return [await gateScenario(options, sink, 'memory'), await gateScenario(options, sink, 'redis')];
    case 'floor':
      return [await floorScenario(options, sink, 'memory')];
    case 'floor-redis':
      return [await floorScenario(options, sink, 'redis')];
    case 'floor-postgres':
      return [await floorScenario(options, sink, 'postgres')];
    case 'signon':
      return [await signOnScenario(options, sink, 'memory')];
    case 'signon-redis':
      return [await signOnScenario(options, sink, 'redis')];
    case 'signon-postgres':
      return [await signOnScenario(options, sink, 'postgres')];
    case 'attack':
      return [await attackScenario(options, sink, extra.attack)];
    case 'peer':
      return [await peerScenario(options, sink)];
    case 'memory':
      return memoryScenario(options);
  }
}

/**
 * Runs the scenarios one after the other (what `npm run bench` does), or
 * all at once with `parallel` (the smoke test: quick, and its figures mean
 * nothing). Each scenario has its own SMTP sink.
 */
export async function runScenarios(
  selection: readonly Scenario[],
  options: BenchOptions,
  extra: { attack?: AttackOptions; parallel?: boolean } = {},
): Promise<Row[]> {
  const sinks = await Promise.all(selection.map(() => CodeSink.start()));
  try {
    if (extra.parallel) return (await Promise.all(selection.map((scenario, i) => runOne(scenario, options, sinks[i]!, extra)))).flat();
    const rows: Row[] = [];
    for (const [i, scenario] of selection.entries()) rows.push(...(await runOne(scenario, options, sinks[i]!, extra)));
    return rows;
  } finally {
    await Promise.all(sinks.map((sink) => sink.close()));
  }
}
