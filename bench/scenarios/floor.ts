/**
 * The MFA sign-on against its floor: what any sign-on with an emailed code
 * must cost at the least, measured part by part in the same run, each part
 * in a process of its own so that none borrows another's CPU:
 *
 *   floor = one password-only sign-on (the same app without express-mfa)
 *         + two signed-on requests through the gate (the challenge page and
 *           the code POST are two requests more than a password sign-on),
 *           asked for by the same client, with as many virtual users, as
 *           the sign-on's own requests
 *         + one sendMail of the very message the sign-on sends, through the
 *           same pooled transport.
 *
 * The figure is server CPU per sign-on (process.cpuUsage() deltas), steadier
 * on a shared machine than throughput. With Redis, a pass of sequential
 * sign-ons also counts what each asks of the MFA store's Redis: round trips
 * (EVALSHA and other calls sent) and commands Redis runs (INFO commandstats,
 * scripts' inner commands included), and Redis's own CPU per sign-on.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { Client, type Jar } from '../lib/http.js';
import { baselineSignOn, drive, oursMfaSignOn } from '../lib/flows.js';
import { row, type BenchOptions, type Row } from '../lib/report.js';
import { ServerProcess } from '../lib/server.js';
import type { CodeSink } from '../lib/sink.js';
import { median, round } from '../lib/stats.js';
import { flowRound } from './signon.js';

type Part = 'mfa' | 'password' | 'gate' | 'mail';

interface StoreCount {
  signOns: number;
  /** What the MFA store's client sent, per sign-on: Redis commands (EVALSHA…), or PostgreSQL statements (BEGIN and COMMIT included). */
  roundTrips: Record<string, number>;
  /** Store steps called, per sign-on, by name. */
  steps: Record<string, number>;
  /** Session store calls, per sign-on, by name. */
  sessions: Record<string, number>;
  /**
   * With Redis: the commands Redis ran, per sign-on, by command (a script's
   * inner commands and the sessions' included), and its process's CPU per
   * sign-on, µs, networking and housekeeping included.
   */
  redis?: { commands: Record<string, number>; cpuUs: number };
}

/** Calls by command, but INFO (the count's own). */
function commandStats(info: string): Map<string, number> {
  const stats = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (match[1] !== 'info') stats.set(match[1]!, Number(match[2]));
  return stats;
}

function redisCpu(info: string): number {
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  const system = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  return (user + system) * 1e6;
}

function perSignOn(before: Map<string, number>, after: Map<string, number>, signOns: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, calls] of after) {
    const delta = calls - (before.get(name) ?? 0);
    if (delta > 0) out[name] = round(delta / signOns, 2);
  }
  return out;
}

function redisPerSignOn(before: Map<string, number>, after: Map<string, number>, cpuUs: number, signOns: number): NonNullable<StoreCount['redis']> {
  return { commands: perSignOn(before, after, signOns), cpuUs: round(cpuUs / signOns, 1) };
}

const total = (counts: Record<string, number>) => round(Object.values(counts).reduce((a, b) => a + b, 0), 2);

type StoreCalls = { sent: Record<string, number>; steps: Record<string, number>; sessions: Record<string, number> };
type InfoClient = ReturnType<typeof createClient>;

const storeCalls = async (server: ServerProcess) => (await server.call('storeCalls')) as unknown as StoreCalls;
const entries = (counts: Record<string, number>) => new Map(Object.entries(counts));

/** Sequential sign-ons with nothing else on the stores: what one sign-on asks of them; with `redis`, what Redis ran for it. */
async function countStore(server: ServerProcess, client: Client, sink: CodeSink, options: BenchOptions, signOns: number, redis?: InfoClient): Promise<StoreCount> {
  await oursMfaSignOn(client, sink, 0);
  const before = await storeCalls(server);
  const statsBefore = redis && commandStats(await redis.info('commandstats'));
  const cpuBefore = redis && redisCpu(await redis.info('cpu'));
  for (let i = 0; i < signOns; i++) await oursMfaSignOn(client, sink, i % options.vus);
  const cpuAfter = redis && redisCpu(await redis.info('cpu'));
  const statsAfter = redis && commandStats(await redis.info('commandstats'));
  const after = await storeCalls(server);
  return {
    signOns,
    roundTrips: perSignOn(entries(before.sent), entries(after.sent), signOns),
    sessions: perSignOn(entries(before.sessions), entries(after.sessions), signOns),
    steps: perSignOn(entries(before.steps), entries(after.steps), signOns),
    ...(redis ? { redis: redisPerSignOn(statsBefore!, statsAfter!, cpuAfter! - cpuBefore!, signOns) } : {}),
  };
}

type Stores = 'memory' | 'redis' | 'postgres';
const STORES = { memory: 'in-memory sessions + store', redis: 'Redis sessions + store', postgres: 'Redis sessions, PostgreSQL store' } as const;

export async function floorScenario(options: BenchOptions, sink: CodeSink, stores: Stores): Promise<Row> {
  const prefix = `bench:floor:${randomBytes(4).toString('hex')}:`;
  // With PostgreSQL for MFA state, sessions stay in Redis, as most such deployments keep them.
  const sessions = stores === 'postgres' ? 'redis' : stores;
  const base = { sessions, mfaStore: stores, users: options.vus, smtpPort: sink.port, redisUrl: options.redisUrl, databaseUrl: options.databaseUrl };
  const [mfa, password, gate, mail] = await Promise.all([
    ServerProcess.start('servers/express-app.ts', { ...base, variant: 'ours', redisPrefix: `${prefix}mfa:`, countStoreCalls: true }),
    ServerProcess.start('servers/express-app.ts', { ...base, variant: 'baseline', redisPrefix: `${prefix}password:` }),
    ServerProcess.start('servers/express-app.ts', { ...base, variant: 'ours', redisPrefix: `${prefix}gate:` }),
    ServerProcess.start('servers/mail-sender.ts', { smtpPort: sink.port }),
  ]);
  const clients = { mfa: new Client(mfa.port), password: new Client(password.port), gate: new Client(gate.port) };
  // With Redis: its own CPU per sign-on while the MFA rounds run (sessions and MFA state; nothing else uses it then).
  const redis = stores === 'redis' ? createClient({ url: options.redisUrl }) : undefined;
  redis?.on('error', () => {});
  await redis?.connect();
  const redisUnderLoad: number[] = [];
  try {
    await oursMfaSignOn(clients.mfa, sink, 0);
    const message = (await mfa.call('lastMail')).message as Record<string, unknown> | null;
    if (!message) throw new Error('floor: the MFA server sent no mail');
    // One signed-on session per virtual user, each asked for by the same client as the sign-on's own requests.
    const gateJars: Jar[] = [];
    for (let vu = 0; vu < options.vus; vu++) gateJars.push((await oursMfaSignOn(clients.gate, sink, vu)).jar);
    const recipients = Array.from({ length: options.vus }, (_, i) => `floor-${i}@bench.test`);

    const cpu = async (server: ServerProcess) => Number((await server.call('cpu')).micros);
    /** Server CPU per unit of the part, ms. */
    const measure = async (part: Part, seconds: number): Promise<number> => {
      switch (part) {
        case 'mfa': {
          const redisBefore = redis ? redisCpu(await redis.info('cpu')) : 0;
          const r = await flowRound(mfa, seconds, options.vus, (vu) => oursMfaSignOn(clients.mfa, sink, vu));
          if (r.errors > 0) throw new Error(`floor: MFA sign-ons failed: ${r.firstErrors.join(' / ')}`);
          if (redis) redisUnderLoad.push((redisCpu(await redis.info('cpu')) - redisBefore) / Math.max(1, r.completed));
          return r.cpuMs;
        }
        case 'password': {
          const r = await flowRound(password, seconds, options.vus, (vu) => baselineSignOn(clients.password, vu));
          if (r.errors > 0) throw new Error(`floor: password sign-ons failed: ${r.firstErrors.join(' / ')}`);
          return r.cpuMs;
        }
        case 'gate': {
          const before = await cpu(gate);
          const result = await drive(seconds, options.vus, async (vu) => {
            const page = await clients.gate.request('GET', '/account', { jar: gateJars[vu] });
            if (page.status !== 200 || page.body !== `account of user${vu}`) throw new Error(`floor: a signed-on request answered ${page.status}`);
          });
          if (result.errors > 0) throw new Error(`floor: signed-on requests failed: ${result.firstErrors.join(' / ')}`);
          return ((await cpu(gate)) - before) / 1000 / Math.max(1, result.completed);
        }
        case 'mail': {
          const before = await cpu(mail);
          const result = (await mail.call('send', { message, recipients, concurrency: options.vus, seconds }, (seconds + 30) * 1000)) as { sent: number; errors: number };
          if (result.errors > 0 || result.sent === 0) throw new Error(`floor: sendMail failed ${result.errors} times`);
          return ((await cpu(mail)) - before) / 1000 / result.sent;
        }
      }
    };

    const parts: Part[] = ['mfa', 'password', 'gate', 'mail'];
    // Three times the usual warm-up: the sign-on's many code paths take a few thousand sign-ons to run at
    // their steady cost (measured: 6.6 ms of CPU each in the first 3 s, 3.7 ms after 15 s), the floor's few far fewer.
    if (options.warmup > 0) for (const part of parts) await measure(part, options.warmup * 3);
    const rounds: Array<Record<Part, number>> = [];
    for (let r = 0; r < options.rounds; r++) {
      const order = r % 2 === 0 ? parts : [...parts].reverse();
      const got = {} as Record<Part, number>;
      for (const part of order) got[part] = round(await measure(part, options.seconds), 4);
      rounds.push(got);
      const floor = got.password + 2 * got.gate + got.mail;
      options.log(`  floor (${stores}) round ${r + 1}: MFA ${got.mfa} ms; floor ${round(floor, 3)} ms (password ${got.password} + 2 × gate ${got.gate} + mail ${got.mail}); ratio ${round(got.mfa / floor, 3)}`);
    }
    const m = (part: Part) => median(rounds.map((r) => r[part]));
    const floor = m('password') + 2 * m('gate') + m('mail');
    const count = stores === 'memory' ? undefined : await countStore(mfa, clients.mfa, sink, options, Math.max(20, options.vus * 4), redis);
    const countDetail = count
      ? `; per sign-on ${total(count.roundTrips)} MFA store round trips for ${total(count.steps)} steps (${JSON.stringify(count.steps)}), session store calls ${JSON.stringify(count.sessions)}` +
        (count.redis
          ? `, ${total(count.redis.commands)} commands run in Redis (sessions' included); Redis CPU per sign-on ${round(median(redisUnderLoad), 1)} µs under the rounds' load, ${count.redis.cpuUs} µs one at a time`
          : '')
      : '';
    return row({
      scenario: `floor: MFA sign-on's server CPU vs its floor, ${STORES[stores]}`,
      ours: { value: round(m('mfa'), 3), unit: 'ms CPU per sign-on', detail: `median of ${rounds.length} rounds${countDetail}` },
      baseline: {
        name: 'floor: password-only sign-on + 2 signed-on requests + 1 sendMail',
        value: round(floor, 3),
        unit: 'ms',
        detail: `${round(m('password'), 3)} + 2 × ${round(m('gate'), 3)} + ${round(m('mail'), 3)}`,
      },
      ratio: m('mfa') / floor,
      target: { op: '<=', value: 1.2 },
      raw: { rounds, count, redisCpuUsUnderLoad: redisUnderLoad, perRoundRatio: rounds.map((r) => round(r.mfa / (r.password + 2 * r.gate + r.mail), 3)) },
    });
  } finally {
    for (const c of Object.values(clients)) c.close();
    await redis?.quit().catch(() => {});
    await Promise.all([mfa.stop(), password.stop(), gate.stop(), mail.stop()]);
  }
}
