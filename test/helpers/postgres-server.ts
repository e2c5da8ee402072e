import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.js';

/** initdb and pg_ctl: on the PATH, or in Debian's /usr/lib/postgresql/<major>/bin, the newest major first. */
function binDir(): string | undefined {
  if (spawnSync('pg_ctl', ['--version']).status === 0) return '';
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root).filter((m) => existsSync(join(root, m, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : join(root, majors[0], 'bin');
}

const BIN = binDir();
const bin = (name: string) => (BIN ? join(BIN, name) : name);

export function hasPostgresServer(): boolean {
  const found = BIN !== undefined;
  if (!found && process.env.CI) throw new Error('PostgreSQL server binaries (initdb, pg_ctl) are required under CI and are not installed');
  if (!found) console.warn('[tests] skipping tests that start their own PostgreSQL: initdb and pg_ctl are not installed.');
  return found;
}

/** initdb and pg_ctl refuse to run as root: then they run as the postgres user, who owns the data folder. */
const asRoot = process.getuid?.() === 0;
function owner(): { uid: number; gid: number } | undefined {
  if (!asRoot) return undefined;
  const found = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error('running as root, and there is no postgres user to run the PostgreSQL server as');
  return { uid: Number(found.stdout.trim()), gid: Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()) };
}

function run(command: string, args: string[]): void {
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  const result = spawnSync(file, argv, { encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stdout}${result.stderr}`);
}

/** A PostgreSQL server of the test's own, in a temporary folder, on a free port, that the test can stop, freeze and start again. */
export class PostgresServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'express-mfa-pg-'));
  private readonly data = join(this.dir, 'data');

  private constructor(readonly port: number) {
    const user = owner();
    if (user) chownSync(this.dir, user.uid, user.gid);
  }

  static async start(): Promise<PostgresServer> {
    const server = new PostgresServer(await freePort());
    // No fsync: the data only has to outlive the server's own stops, not the machine's.
    run(bin('initdb'), ['-D', server.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    await server.resume();
    return server;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async resume(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    run(bin('pg_ctl'), ['-D', this.data, '-o', options, '-l', join(this.dir, 'log'), '-w', 'start']);
  }

  /** Stops at once, as a crash would: every connection is cut. */
  async stop(): Promise<void> {
    run(bin('pg_ctl'), ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
  }

  /** The server's processes (the postmaster and its children), which freeze() stops with SIGSTOP: a database that hangs. */
  private processes(): number[] {
    const postmaster = Number(readFileSync(join(this.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [postmaster, ...children];
  }

  freeze(): void {
    for (const pid of this.processes()) process.kill(pid, 'SIGSTOP');
  }

  thaw(): void {
    for (const pid of this.processes()) process.kill(pid, 'SIGCONT');
  }

  async destroy(): Promise<void> {
    try {
      this.thaw();
      await this.stop();
    } catch {
      // Not running: nothing to stop.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
