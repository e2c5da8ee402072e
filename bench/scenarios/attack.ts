/**
 * Code check under attack, with Redis (sessions and MFA store): many
 * pending sign-ons, all held by an attacker at one address, get wrong codes
 * as fast as autocannon (in its own process) can send them; meanwhile other
 * users sign on, and we time their right-code POST. The same victims are
 * timed with no attack running, in alternate rounds.
 *
 * The server runs the library's default rate limit (100 writes a minute per
 * address), with auth.rateLimit before the session, and trusts
 * X-Forwarded-For from loopback: the attacker sends one address, and every
 * victim sign-on another of its own (each stands for another user; one
 * address per victim would soon be over the limit, since a victim signs on
 * many times a second here). The server's CPU time over each round gives
 * what a refused write costs. The flood is BENCH_ATTACK_RATE writes a
 * second (default 1000, about the 876 of issue 14's report; 0: as fast as
 * the server answers, where the load generator takes a core of the
 * machine's two from everything else).
 */
import { randomBytes } from 'node:crypto';
import { Client } from '../lib/http.js';
import { drive, oursMfaSignOn, oursPendingSignOn } from '../lib/flows.js';
import { row, type BenchOptions, type Row } from '../lib/report.js';
import { ServerProcess } from '../lib/server.js';
import type { CodeSink } from '../lib/sink.js';
import { median, percentile, round } from '../lib/stats.js';

export interface AttackOptions {
  /** Users whose pending sign-ons get wrong codes. */
  attackers: number;
  /** Users who sign on meanwhile, one virtual user each. */
  victims: number;
}

/** The attacker's one address. */
const ATTACKER = '198.51.100.66';

/** A fresh address for each victim sign-on: 10.<vu>.<n>. */
function victimAddress(vu: number, n: number): string {
  return `10.${vu % 256}.${(n >> 8) % 256}.${n % 256}`;
}

interface AttackFigure {
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  errors: number;
  statuses: Record<string, number>;
}

export async function attackScenario(options: BenchOptions, sink: CodeSink, attack: AttackOptions = { attackers: 500, victims: 2 }): Promise<Row> {
  const attackRate = options.attackRate ?? 1000;
  const prefix = `bench:attack:${randomBytes(4).toString('hex')}:`;
  const [server, load] = await Promise.all([
    ServerProcess.start('servers/express-app.ts', {
      variant: 'ours',
      sessions: 'redis',
      mfaStore: 'redis',
      users: attack.attackers + attack.victims,
      smtpPort: sink.port,
      redisUrl: options.redisUrl,
      redisPrefix: prefix,
      trustProxy: 'loopback',
      // The library's default limit: this is what the scenario measures.
      rateLimit: {},
      earlyRateLimit: true,
    }),
    ServerProcess.start('servers/attack-load.ts', {}),
  ]);
  const client = new Client(server.port);
  try {
    // The attackers' pending sign-ons: password done, on the challenge page.
    const attackers: Array<{ cookie: string; csrf: string; wrong: string }> = [];
    const setupErrors: string[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async (_, worker) => {
        for (let i = worker; i < attack.attackers; i += 16) {
          try {
            attackers.push(await oursPendingSignOn(client, sink, attack.victims + i));
          } catch (error) {
            setupErrors.push((error as Error).message);
          }
        }
      }),
    );
    if (attackers.length !== attack.attackers) throw new Error(`attack setup: ${attackers.length} of ${attack.attackers} pending sign-ons: ${setupErrors.slice(0, 3).join(' / ')}`);
    const sid = decodeURIComponent(/connect\.sid=([^;]+)/.exec(attackers[0]!.cookie)![1]!).replace(/^s:/, '').split('.')[0];
    const sessionBytes = (await server.call('sessionBytes', { sid })).bytes as number | null;

    const signOns = new Map<number, number>();
    const victimRound = async (seconds: number) => {
      const codeMs: number[] = [];
      const result = await drive(seconds, attack.victims, async (vu) => {
        const n = (signOns.get(vu) ?? 0) + 1;
        signOns.set(vu, n);
        codeMs.push((await oursMfaSignOn(client, sink, vu, { 'x-forwarded-for': victimAddress(vu, n) })).codeMs);
      });
      if (result.errors > 0) throw new Error(`victims failed to sign on: ${result.firstErrors.join(' / ')}`);
      return codeMs;
    };
    /** The server's CPU time (µs) while `round` runs. */
    const cpuOf = async <T>(round: () => Promise<T>): Promise<T & { cpuMicros: number }> => {
      const before = (await server.call('cpu')).micros as number;
      const result = await round();
      return { ...result, cpuMicros: ((await server.call('cpu')).micros as number) - before };
    };
    const attackRound = async (seconds: number) => {
      const [figure, codeMs] = await Promise.all([
        load.call('attack', { port: server.port, attackers, seconds, connections: options.connections, address: ATTACKER, rate: attackRate }, (seconds + 60) * 1000) as Promise<unknown> as Promise<AttackFigure>,
        victimRound(seconds),
      ]);
      return { figure, codeMs };
    };

    if (options.warmup > 0) {
      await victimRound(options.warmup);
      await attackRound(options.warmup);
    }
    const quiet: number[] = [];
    const underAttack: number[] = [];
    const figures: AttackFigure[] = [];
    let quietCpu = 0;
    const attackCpu: Array<{ micros: number; victims: number; refused: number }> = [];
    for (let r = 0; r < options.rounds; r++) {
      const steps = r % 2 === 0 ? (['quiet', 'attack'] as const) : (['attack', 'quiet'] as const);
      for (const step of steps) {
        if (step === 'quiet') {
          const { codeMs, cpuMicros } = await cpuOf(async () => ({ codeMs: await victimRound(options.seconds) }));
          quiet.push(...codeMs);
          quietCpu += cpuMicros;
        } else {
          const { figure, codeMs, cpuMicros } = await cpuOf(() => attackRound(options.seconds));
          figures.push(figure);
          underAttack.push(...codeMs);
          attackCpu.push({ micros: cpuMicros, victims: codeMs.length, refused: figure.statuses['429'] ?? 0 });
          options.log(`  attack round ${r + 1}: ${Math.round(figure.rps)} wrong codes/s, statuses ${JSON.stringify(figure.statuses)}, victims' right code p50 ${round(percentile(codeMs, 50), 1)} ms, p99 ${round(percentile(codeMs, 99), 1)} ms`);
        }
      }
    }
    const bad = figures.reduce((n, f) => n + f.errors + Object.entries(f.statuses).filter(([s]) => s.startsWith('2') || s.startsWith('3') || s.startsWith('5')).reduce((m, [, c]) => m + c, 0), 0);
    if (bad > 0) throw new Error(`attack: ${bad} wrong-code answers were not a refusal (4xx): ${JSON.stringify(figures.map((f) => f.statuses))}`);
    const p = (values: number[], q: number) => round(percentile(values, q), 1);
    // A refused write's CPU: the attack round's, less what its victims' sign-ons cost in the quiet rounds, over the 429s.
    const perSignOn = quiet.length > 0 ? quietCpu / quiet.length : 0;
    const perRefusal = attackCpu.map((c) => (c.refused > 0 ? (c.micros - c.victims * perSignOn) / c.refused : Number.NaN));
    const refusalMicros = round(median(perRefusal), 1);
    const ratio = p(underAttack, 99) / p(quiet, 99);
    return row({
      scenario: `code check under attack (Redis): right-code p99 for another user while one address floods ${attackRate > 0 ? `at ${attackRate} writes/s` : 'as fast as the server answers'}, ${attack.attackers} users attacked`,
      ours: {
        value: p(underAttack, 99),
        unit: 'ms',
        detail: `p50 ${p(underAttack, 50)} ms over ${underAttack.length} sign-ons; attack ${Math.round(median(figures.map((f) => f.rps)))} writes/s, ${median(figures.map((f) => f.statuses['429'] ?? 0))} refused (429) a round, at ${refusalMicros} µs of server CPU each; their p50 ${median(figures.map((f) => f.p50))} ms, p99 ${median(figures.map((f) => f.p99))} ms`,
      },
      baseline: { name: 'no attack', value: p(quiet, 99), unit: 'ms', detail: `p50 ${p(quiet, 50)} ms over ${quiet.length} sign-ons, ${round(perSignOn, 0)} µs of server CPU each` },
      ratio,
      ratioLabel: '× quiet p99',
      target: { op: '<=', value: 1.5 },
      raw: {
        attackRps: figures.map((f) => f.rps),
        attackStatuses: figures.map((f) => f.statuses),
        rightCode: { underAttack: { p50: p(underAttack, 50), p99: p(underAttack, 99), n: underAttack.length }, quiet: { p50: p(quiet, 50), p99: p(quiet, 99), n: quiet.length } },
        serverCpu: { quietMicros: quietCpu, perSignOnMicros: perSignOn, attackRounds: attackCpu, perRefusalMicros: perRefusal },
        pendingSessionBytesInRedis: sessionBytes,
      },
    });
  } finally {
    client.close();
    await Promise.all([server.stop(), load.stop()]);
  }
}
