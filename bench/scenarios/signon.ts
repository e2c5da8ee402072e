/**
 * Sign-on cost: complete MFA sign-ons per second (password POST, challenge
 * page, code POST, the code read from a real SMTP sink) against password-only
 * sign-ons of the same app (a named policy that skips MFA), with the same
 * cheap password check. And the peer: the same flow on better-auth.
 */
import { randomBytes } from 'node:crypto';
import { Client } from '../lib/http.js';
import { betterAuthSignOn, drive, oursMfaSignOn, oursPasswordSignOn, type DriveResult } from '../lib/flows.js';
import { row, type BenchOptions, type Row } from '../lib/report.js';
import { ServerProcess } from '../lib/server.js';
import type { CodeSink } from '../lib/sink.js';
import { median, percentile, round } from '../lib/stats.js';

export interface FlowRound {
  perSecond: number;
  completed: number;
  errors: number;
  p50: number;
  p99: number;
  /** Server CPU time per completed sign-on, ms. */
  cpuMs: number;
  firstErrors: string[];
}

/** One measured round of `iteration` against `server`, with the server's CPU time per sign-on. */
export async function flowRound(server: ServerProcess, seconds: number, vus: number, iteration: (vu: number) => Promise<unknown>): Promise<FlowRound> {
  await server.call('reset');
  const before = Number((await server.call('cpu')).micros);
  const result: DriveResult = await drive(seconds, vus, iteration);
  const after = Number((await server.call('cpu')).micros);
  return {
    perSecond: result.perSecond,
    completed: result.completed,
    errors: result.errors,
    p50: round(percentile(result.latencies, 50), 1),
    p99: round(percentile(result.latencies, 99), 1),
    cpuMs: round((after - before) / 1000 / Math.max(1, result.completed), 3),
    firstErrors: result.firstErrors,
  };
}

/** Runs the two sides alternately for `rounds` rounds after a warm-up; medians of each. */
export async function pair(
  options: BenchOptions,
  label: string,
  sides: { a: [ServerProcess, (vu: number) => Promise<unknown>]; b: [ServerProcess, (vu: number) => Promise<unknown>] },
) {
  if (options.warmup > 0) {
    await flowRound(sides.b[0], options.warmup, options.vus, sides.b[1]);
    await flowRound(sides.a[0], options.warmup, options.vus, sides.a[1]);
  }
  const rounds: Array<{ a: FlowRound; b: FlowRound }> = [];
  for (let r = 0; r < options.rounds; r++) {
    const order: Array<'a' | 'b'> = r % 2 === 0 ? ['b', 'a'] : ['a', 'b'];
    const got: Partial<Record<'a' | 'b', FlowRound>> = {};
    for (const side of order) got[side] = await flowRound(sides[side][0], options.seconds, options.vus, sides[side][1]);
    rounds.push(got as { a: FlowRound; b: FlowRound });
    options.log(`  ${label} round ${r + 1}: ${got.a!.perSecond.toFixed(1)}/s (${got.a!.cpuMs} ms CPU each) vs ${got.b!.perSecond.toFixed(1)}/s (${got.b!.cpuMs} ms CPU each)`);
  }
  const errors = rounds.flatMap((r) => [...r.a.firstErrors, ...r.b.firstErrors]);
  const completed = rounds.reduce((n, r) => n + r.a.completed + r.b.completed, 0);
  const failed = rounds.reduce((n, r) => n + r.a.errors + r.b.errors, 0);
  if (completed === 0 || failed > completed * 0.01) throw new Error(`${label}: ${failed} failed iterations of ${completed + failed}: ${errors.slice(0, 3).join(' / ')}`);
  const summary = (side: 'a' | 'b') => ({
    perSecond: median(rounds.map((r) => r[side].perSecond)),
    p50: median(rounds.map((r) => r[side].p50)),
    p99: median(rounds.map((r) => r[side].p99)),
    cpuMs: median(rounds.map((r) => r[side].cpuMs)),
    errors: rounds.reduce((n, r) => n + r[side].errors, 0),
  });
  return { a: summary('a'), b: summary('b'), rounds };
}

const STORES = { memory: 'in-memory sessions + store', redis: 'Redis sessions + store', postgres: 'Redis sessions, PostgreSQL store' } as const;

const detail = (s: { p50: number; p99: number; cpuMs: number }) => `p50 ${s.p50} ms, p99 ${s.p99} ms, server CPU ${s.cpuMs} ms each`;

export async function signOnScenario(options: BenchOptions, sink: CodeSink, stores: 'memory' | 'redis' | 'postgres'): Promise<Row> {
  const server = await ServerProcess.start('servers/express-app.ts', {
    variant: 'ours',
    // With PostgreSQL for MFA state, sessions stay in Redis, as most such deployments keep them.
    sessions: stores === 'postgres' ? 'redis' : stores,
    mfaStore: stores,
    databaseUrl: options.databaseUrl,
    users: options.vus,
    smtpPort: sink.port,
    redisUrl: options.redisUrl,
    redisPrefix: `bench:signon:${randomBytes(4).toString('hex')}:`,
  });
  const client = new Client(server.port);
  try {
    const result = await pair(options, `sign-on (${stores})`, {
      a: [server, (vu) => oursMfaSignOn(client, sink, vu)],
      b: [server, (vu) => oursPasswordSignOn(client, vu)],
    });
    return row({
      scenario: `sign-on: MFA vs password only, ${STORES[stores]}`,
      ours: { value: result.a.perSecond, unit: 'sign-ons/s', detail: detail(result.a) },
      baseline: { name: 'password-only sign-on', value: result.b.perSecond, unit: 'sign-ons/s', detail: detail(result.b) },
      ratio: result.a.perSecond / result.b.perSecond,
      // Informational: the target is the floor scenario's, against the sign-on's real floor (issue 14).
      target: null,
      raw: result,
    });
  } finally {
    client.close();
    await server.stop();
  }
}

export async function peerScenario(options: BenchOptions, sink: CodeSink): Promise<Row> {
  const [ours, theirs] = await Promise.all([
    ServerProcess.start('servers/express-app.ts', { variant: 'ours', sessions: 'memory', mfaStore: 'memory', users: options.vus, smtpPort: sink.port }),
    ServerProcess.start('servers/better-auth-app.ts', { users: options.vus, smtpPort: sink.port }),
  ]);
  const oursClient = new Client(ours.port);
  const theirClient = new Client(theirs.port);
  try {
    const result = await pair(options, 'peer', {
      a: [ours, (vu) => oursMfaSignOn(oursClient, sink, vu)],
      b: [theirs, (vu) => betterAuthSignOn(theirClient, sink, vu)],
    });
    return row({
      scenario: 'peer: password + emailed code, in-memory',
      ours: { value: result.a.perSecond, unit: 'sign-ons/s', detail: detail(result.a) },
      baseline: { name: 'better-auth twoFactor OTP', value: result.b.perSecond, unit: 'sign-ons/s', detail: detail(result.b) },
      ratio: result.a.perSecond / result.b.perSecond,
      target: { op: '>=', value: 5 },
      raw: result,
    });
  } finally {
    oursClient.close();
    theirClient.close();
    await Promise.all([ours.stop(), theirs.stop()]);
  }
}
