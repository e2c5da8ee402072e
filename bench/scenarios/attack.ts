/**
 * Code check under attack, with Redis (sessions and MFA store): many
 * pending sign-ons, each held by an attacker, get wrong codes as fast as
 * autocannon (in its own process) can send them; meanwhile other users sign
 * on, and we time their right-code POST. The same victims are timed with no
 * attack running, in alternate rounds.
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

interface AttackFigure {
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  errors: number;
  statuses: Record<string, number>;
}

export async function attackScenario(options: BenchOptions, sink: CodeSink, attack: AttackOptions = { attackers: 500, victims: 2 }): Promise<Row> {
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

    const victimRound = async (seconds: number) => {
      const codeMs: number[] = [];
      const result = await drive(seconds, attack.victims, async (vu) => codeMs.push((await oursMfaSignOn(client, sink, vu)).codeMs));
      if (result.errors > 0) throw new Error(`victims failed to sign on: ${result.firstErrors.join(' / ')}`);
      return codeMs;
    };
    const attackRound = async (seconds: number) => {
      const [figure, codeMs] = await Promise.all([
        load.call('attack', { port: server.port, attackers, seconds, connections: options.connections }, (seconds + 60) * 1000) as Promise<unknown> as Promise<AttackFigure>,
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
    for (let r = 0; r < options.rounds; r++) {
      const steps = r % 2 === 0 ? (['quiet', 'attack'] as const) : (['attack', 'quiet'] as const);
      for (const step of steps) {
        if (step === 'quiet') quiet.push(...(await victimRound(options.seconds)));
        else {
          const { figure, codeMs } = await attackRound(options.seconds);
          figures.push(figure);
          underAttack.push(...codeMs);
          options.log(`  attack round ${r + 1}: ${Math.round(figure.rps)} wrong codes/s, statuses ${JSON.stringify(figure.statuses)}, victims' right code p50 ${round(percentile(codeMs, 50), 1)} ms`);
        }
      }
    }
    const bad = figures.reduce((n, f) => n + f.errors + Object.entries(f.statuses).filter(([s]) => s.startsWith('2') || s.startsWith('3') || s.startsWith('5')).reduce((m, [, c]) => m + c, 0), 0);
    if (bad > 0) throw new Error(`attack: ${bad} wrong-code answers were not a refusal (4xx): ${JSON.stringify(figures.map((f) => f.statuses))}`);
    const p = (values: number[], q: number) => round(percentile(values, q), 1);
    return row({
      scenario: `code check under attack (Redis): right-code p50 for another user, ${attack.attackers} users attacked`,
      ours: {
        value: p(underAttack, 50),
        unit: 'ms',
        detail: `p99 ${p(underAttack, 99)} ms over ${underAttack.length} sign-ons; attack ${Math.round(median(figures.map((f) => f.rps)))} wrong codes/s, their p50 ${median(figures.map((f) => f.p50))} ms, p99 ${median(figures.map((f) => f.p99))} ms`,
      },
      baseline: { name: 'no attack', value: p(quiet, 50), unit: 'ms', detail: `p99 ${p(quiet, 99)} ms over ${quiet.length} sign-ons` },
      ratio: p(underAttack, 50) / p(quiet, 50),
      ratioLabel: '× slower',
      target: null,
      raw: {
        attackRps: figures.map((f) => f.rps),
        attackStatuses: figures.map((f) => f.statuses),
        rightCode: { underAttack: { p50: p(underAttack, 50), p99: p(underAttack, 99), n: underAttack.length }, quiet: { p50: p(quiet, 50), p99: p(quiet, 99), n: quiet.length } },
        pendingSessionBytesInRedis: sessionBytes,
      },
    });
  } finally {
    client.close();
    await Promise.all([server.stop(), load.stop()]);
  }
}
