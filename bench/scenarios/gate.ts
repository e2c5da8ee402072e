/**
 * Gate cost: a signed-on GET through app.use(auth) + auth.required(),
 * against the same app without express-mfa whose route checks only
 * req.isAuthenticated(). One process per app; autocannon in this process;
 * the two apps are loaded one after the other, alternating first place.
 */
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { Client } from '../lib/http.js';
import { baselineSignOn, oursMfaSignOn } from '../lib/flows.js';
import { row, type BenchOptions, type Row } from '../lib/report.js';
import { ServerProcess } from '../lib/server.js';
import type { CodeSink } from '../lib/sink.js';
import { median, round } from '../lib/stats.js';

export interface CannonFigure {
  rps: number;
  /** Server CPU time per request, microseconds. */
  cpuUs?: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
}

export async function cannon(port: number, path: string, cookie: string, seconds: number, connections: number): Promise<CannonFigure> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    connections,
    duration: Math.max(0.5, seconds),
    headers: { cookie },
    // Each response must be the signed-on page: a redirect to sign on would be a fast lie.
    expectBody: 'account of user0',
  });
  return {
    rps: result.requests.total / (result.duration || seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts + result.mismatches,
  };
}

export async function gateScenario(options: BenchOptions, sink: CodeSink, sessions: 'memory' | 'redis'): Promise<Row> {
  const prefix = `bench:gate:${randomBytes(4).toString('hex')}:`;
  const base = { sessions, mfaStore: sessions, users: 1, smtpPort: sink.port, redisUrl: options.redisUrl };
  const [ours, baseline] = await Promise.all([
    ServerProcess.start('servers/express-app.ts', { ...base, variant: 'ours', redisPrefix: `${prefix}ours:` }),
    ServerProcess.start('servers/express-app.ts', { ...base, variant: 'baseline', redisPrefix: `${prefix}base:` }),
  ]);
  const oursClient = new Client(ours.port);
  const baselineClient = new Client(baseline.port);
  try {
    const oursCookie = (await oursMfaSignOn(oursClient, sink, 0)).jar.header()!;
    const baselineCookie = (await baselineSignOn(baselineClient, 0)).header()!;
    for (const [client, cookie] of [[oursClient, oursCookie], [baselineClient, baselineCookie]] as const) {
      const page = await client.request('GET', '/account', { headers: { cookie } });
      if (page.status !== 200 || page.body !== 'account of user0') throw new Error(`gate setup: /account answered ${page.status} ${page.body.slice(0, 100)}`);
    }
    const run = async (which: 'ours' | 'baseline', seconds: number) => {
      const server = which === 'ours' ? ours : baseline;
      const before = Number((await server.call('cpu')).micros);
      const figure = await cannon(server.port, '/account', which === 'ours' ? oursCookie : baselineCookie, seconds, options.connections);
      figure.cpuUs = round((Number((await server.call('cpu')).micros) - before) / Math.max(1, figure.requests), 1);
      return figure;
    };

    if (options.warmup > 0) {
      await run('baseline', options.warmup);
      await run('ours', options.warmup);
    }
    const rounds: Array<{ ours: CannonFigure; baseline: CannonFigure }> = [];
    for (let r = 0; r < options.rounds; r++) {
      const order: Array<'ours' | 'baseline'> = r % 2 === 0 ? ['baseline', 'ours'] : ['ours', 'baseline'];
      const figures: Partial<Record<'ours' | 'baseline', CannonFigure>> = {};
      for (const which of order) figures[which] = await run(which, options.seconds);
      rounds.push(figures as { ours: CannonFigure; baseline: CannonFigure });
      options.log(`  gate (${sessions}) round ${r + 1}: ours ${Math.round(figures.ours!.rps)} req/s (${figures.ours!.cpuUs} µs CPU each), baseline ${Math.round(figures.baseline!.rps)} req/s (${figures.baseline!.cpuUs} µs CPU each)`);
    }
    const failures = rounds.reduce((n, r) => n + r.ours.non2xx + r.ours.errors + r.baseline.non2xx + r.baseline.errors, 0);
    if (failures > 0) throw new Error(`gate (${sessions}): ${failures} responses were not 2xx`);
    const oursRps = median(rounds.map((r) => r.ours.rps));
    const baseRps = median(rounds.map((r) => r.baseline.rps));
    return row({
      scenario: `gate: signed-on GET, ${sessions === 'memory' ? 'in-memory' : 'Redis'} sessions`,
      ours: { value: oursRps, unit: 'req/s', detail: `p50 ${median(rounds.map((r) => r.ours.p50))} ms, p99 ${median(rounds.map((r) => r.ours.p99))} ms, server CPU ${median(rounds.map((r) => r.ours.cpuUs!))} µs each` },
      baseline: {
        name: 'req.isAuthenticated() only',
        value: baseRps,
        unit: 'req/s',
        detail: `p50 ${median(rounds.map((r) => r.baseline.p50))} ms, p99 ${median(rounds.map((r) => r.baseline.p99))} ms, server CPU ${median(rounds.map((r) => r.baseline.cpuUs!))} µs each`,
      },
      ratio: oursRps / baseRps,
      target: { op: '>=', value: 0.97 },
      raw: { rounds, perRoundRatio: rounds.map((r) => round(r.ours.rps / r.baseline.rps, 3)) },
    });
  } finally {
    oursClient.close();
    baselineClient.close();
    await Promise.all([ours.stop(), baseline.stop()]);
  }
}
