/**
 * npm run bench: every scenario, a table of ratios and absolute figures,
 * and the results as JSON under bench/results/.
 *
 * Environment: BENCH_SECONDS (5) per round, BENCH_ROUNDS (3), BENCH_WARMUP
 * (2 s), BENCH_VUS (16 virtual users for sign-ons), BENCH_CONNECTIONS (32
 * for autocannon), BENCH_ONLY (comma list of scenarios), BENCH_MEMORY_REDIS
 * (10000), BENCH_MEMORY_HEAP (100000), BENCH_ATTACK_VICTIMS (2), REDIS_URL, BENCH_SMTP_NAGLE=1 (the
 * transport's sockets as nodemailer leaves them), BENCH_CPU_PROF=dir (each
 * server writes a CPU profile there).
 */
import { execSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { optionsFromEnv, runScenarios, SCENARIOS, type Scenario } from './bench.js';
import { markdown, table } from './lib/report.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const options = optionsFromEnv();
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
for (const name of only ?? []) if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`BENCH_ONLY: unknown scenario ${name}; known: ${SCENARIOS.join(', ')}`);
const selection = (only ?? SCENARIOS) as Scenario[];

function version(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(`${root}node_modules/${pkg}/package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function redisVersion(): Promise<string> {
  try {
    const { createClient } = await import('redis');
    const client = createClient({ url: options.redisUrl, socket: { connectTimeout: 1000, reconnectStrategy: false } });
    client.on('error', () => {});
    await client.connect();
    const info = await client.info('server');
    await client.quit();
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch {
    return 'not reachable';
  }
}

const started = new Date();
const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  node: process.version,
  loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
};
const versions = Object.fromEntries(
  ['express', 'express-session', 'passport', 'passport-local', 'nodemailer', 'smtp-server', 'redis', 'connect-redis', 'ejs', 'better-auth', 'autocannon'].map((p) => [p, version(p)]),
);
let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  if (execSync('git status --porcelain src views', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()) commit += ' (+ uncommitted changes in src/ or views/)';
} catch {
  // not a git checkout
}

console.log(`express-mfa benchmarks — ${machine.cores} × ${machine.cpu}, Node ${machine.node}, load ${machine.loadAverageAtStart.join(' ')}`);
console.log(`rounds: ${options.rounds} × ${options.seconds} s after ${options.warmup} s warm-up; ${options.vus} virtual users; ${options.connections} connections\n`);
const victims = Number(process.env.BENCH_ATTACK_VICTIMS ?? 2);
if (!Number.isInteger(victims) || victims < 1) throw new Error(`BENCH_ATTACK_VICTIMS must be a whole number of at least 1, got ${process.env.BENCH_ATTACK_VICTIMS}`);
const rows = await runScenarios(selection, options, { attack: { attackers: 500, victims } });
const redis = await redisVersion();
const finished = new Date();

console.log(`\n${table(rows)}\n`);
const results = { started, finished, commit, machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100) }, versions: { ...versions, redisServer: redis }, options: { ...options, log: undefined }, rows, markdown: markdown(rows) };
const dir = `${root}bench/results`;
mkdirSync(dir, { recursive: true });
const file = `${dir}/${started.toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(`${dir}/latest.json`, `${JSON.stringify(results, null, 2)}\n`);
console.log(`results: ${file}`);
