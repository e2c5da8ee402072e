import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = resolve(import.meta.dirname, '../..');
export const FIXTURES = join(import.meta.dirname, 'fixtures');

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment for child npm and node processes: this one's, less what
 * `npm test` set for express-mfa itself (npm_config_*, npm_package_*), which
 * would otherwise steer the consumer's npm.
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
  return { ...env, ...extra };
}

/** Runs a command to its end; never rejects, the caller reads the exit code. */
export function run(command: string, args: string[], cwd: string): Promise<Result> {
  return new Promise((done) => {
    execFile(command, args, { cwd, env: childEnv(), maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

export function describeFailure(what: string, result: Result): string {
  return `${what} exited ${result.code}\n--- stdout\n${result.stdout.slice(-4000)}\n--- stderr\n${result.stderr.slice(-4000)}`;
}

/** npm's words for "the registry could not be reached", as opposed to a refusal such as ERESOLVE. */
export function isNetworkFailure(result: Result): boolean {
  return /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH)\b/.test(result.stderr);
}

/** Whether the process that wrote its id into the lock folder is gone (a run killed while it packed). */
async function lockOrphaned(lock: string): Promise<boolean> {
  const owner = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => ''));
  if (!owner) return (await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0)) > 180_000;
  try {
    process.kill(owner, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Runs fn while holding a lock of this repository's (a folder made with
 * mkdir, which is atomic) across processes: test files that run in parallel
 * workers must not build dist/ at once, as tsup's clean of one would empty
 * the folder that the other is packing.
 */
async function withPackLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), `express-mfa-pack-${createHash('sha256').update(ROOT).digest('hex').slice(0, 16)}.lock`);
  const deadline = Date.now() + 240_000;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (await lockOrphaned(lock)) await rm(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`another npm pack of ${ROOT} has held ${lock} for too long`);
      else await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** `npm pack` of the repository as it is (prepack builds dist/), into dir; resolves with the tarball's path. */
export async function pack(dir: string): Promise<string> {
  const result = await withPackLock(() => run('npm', ['pack', '--pack-destination', dir, '--loglevel=error'], ROOT));
  if (result.code !== 0) throw new Error(describeFailure('npm pack', result));
  const tarball = (await readdir(dir)).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack left no tarball in ${dir}`);
  return join(dir, tarball);
}

export interface AppSpec {
  /** The folder under fixtures/ with the app's own files. */
  fixture: string;
  type: 'module' | 'commonjs';
  /** What the app installs beside the tarball, each pinned. */
  dependencies: string[];
  /** The files of fixtures/ itself copied beside the app's own. Default: the typed usage and its tsconfigs. */
  shared?: string[];
}

const SHARED = ['usage.ts', 'tsconfig.json', 'tsconfig.node10.json'];

/**
 * A throw-away app folder: the fixture's files, the shared typed usage and
 * tsconfigs (or spec.shared), and an `npm install` of the tarball with the app's own packages.
 * Peers are strict, as a careful app's CI would have them: a peer range that
 * refuses the app's versions fails the install.
 */
export async function makeApp(dir: string, tarball: string, spec: AppSpec): Promise<Result> {
  await cp(join(FIXTURES, spec.fixture), dir, { recursive: true });
  for (const file of spec.shared ?? SHARED) await cp(join(FIXTURES, file), join(dir, file));
  await writeFile(join(dir, 'package.json'), `${JSON.stringify({ name: `consumer-${spec.fixture}`, private: true, type: spec.type }, null, 2)}\n`);
  return run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--strict-peer-deps', '--loglevel=error', tarball, ...spec.dependencies], dir);
}

export interface RunningApp {
  child: ChildProcess;
  /** What the app printed on its READY line. */
  ready: Record<string, any>;
  stderr: () => string;
}

/** Starts `node <file>` in dir and waits for the line `READY {json}` it prints once it listens. */
export function startApp(dir: string, file: string, env: Record<string, string>): Promise<RunningApp> {
  const child = spawn(process.execPath, [file], { cwd: dir, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((done, fail) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const line = /^READY (.*)$/m.exec(stdout);
      if (line) done({ child, ready: JSON.parse(line[1]!), stderr: () => stderr });
    });
    child.on('exit', (code) => fail(new Error(describeFailure(`node ${file}`, { code, stdout, stderr }))));
  });
}

/** A browser's cookie jar, enough for one session cookie. */
export class Browser {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly base: string) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(new URL(path, this.base), { ...init, headers, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const at = pair.indexOf('=');
      this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return response;
  }

  /** The path a redirect (302 or 303, as Express and Passport send them) points to. */
  redirect(response: Response): string {
    if (response.status !== 302 && response.status !== 303) throw new Error(`expected a redirect, got ${response.status}`);
    return new URL(response.headers.get('location') ?? '', this.base).pathname;
  }
}
