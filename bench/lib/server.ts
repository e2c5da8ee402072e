import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));

/** A server running in its own Node process, reporting readiness over IPC. */
export class ServerProcess {
  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly port: number,
    readonly info: Record<string, unknown>,
  ) {}

  /**
   * Starts `bench/<script>` with `config` (JSON in BENCH_SERVER_CONFIG)
   * and waits for its { type: 'ready', port } message.
   */
  static start(script: string, config: Record<string, unknown>, options: { timeoutMs?: number; execArgv?: string[] } = {}): Promise<ServerProcess> {
    const file = fileURLToPath(new URL(`../${script}`, import.meta.url));
    const execArgv = ['--import', 'tsx', ...(options.execArgv ?? [])];
    if (process.env.BENCH_CPU_PROF) execArgv.push('--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`);
    const child = fork(file, [], {
      execArgv,
      env: { ...process.env, NODE_ENV: 'development', BENCH_SERVER_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${script} did not start within ${options.timeoutMs ?? 30_000} ms`));
      }, options.timeoutMs ?? 30_000);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`${script} exited with ${code} before it was ready`));
      };
      child.once('exit', onExit);
      child.on('message', function onMessage(message: { type?: string; port?: number; error?: string }) {
        if (message?.type === 'ready') {
          clearTimeout(timer);
          child.off('exit', onExit);
          child.off('message', onMessage);
          resolve(new ServerProcess(script, child, message.port!, message as Record<string, unknown>));
        } else if (message?.type === 'failed') {
          clearTimeout(timer);
          child.kill('SIGKILL');
          reject(new Error(`${script} failed to start: ${message.error}`));
        }
      });
    });
  }

  /** Sends a command ({ type }) and waits for its { type: 'done', id } answer. */
  call(type: string, payload: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const id = Math.random().toString(36).slice(2);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.off('message', onMessage);
        reject(new Error(`${this.name}: no answer to ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (message: { type?: string; id?: string; error?: string }) => {
        if (message?.id !== id) return;
        clearTimeout(timer);
        this.child.off('message', onMessage);
        if (message.error) reject(new Error(`${this.name}: ${type} failed: ${message.error}`));
        else resolve(message as Record<string, unknown>);
      };
      this.child.on('message', onMessage);
      this.child.send({ type, id, ...payload });
    });
  }

  /** Asks the server to clean up and exit; kills it after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      await this.call('stop', {}, timeoutMs);
    } catch {
      // killed below
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

/** The server side of the IPC protocol: answers commands; 'stop' runs `cleanup` and exits. */
export function serveCommands(handlers: Record<string, (payload: Record<string, unknown>) => unknown>, cleanup: () => Promise<void>): void {
  const answer = (message: Record<string, unknown>) => process.send?.(message);
  process.on('message', async (message: { type: string; id: string } & Record<string, unknown>) => {
    try {
      if (message.type === 'stop') {
        await cleanup();
        answer({ type: 'done', id: message.id });
        setTimeout(() => process.exit(0), 20);
        return;
      }
      const handler = handlers[message.type];
      if (!handler) throw new Error(`unknown command ${message.type}`);
      const result = (await handler(message)) ?? {};
      answer({ type: 'done', id: message.id, ...(result as object) });
    } catch (error) {
      answer({ type: 'done', id: message.id, error: (error as Error).stack ?? String(error) });
    }
  });
  // The parent went away: do not linger.
  process.on('disconnect', () => {
    cleanup().finally(() => process.exit(0));
  });
}

export function serverConfig<T>(): T {
  const raw = process.env.BENCH_SERVER_CONFIG;
  if (!raw) throw new Error('BENCH_SERVER_CONFIG is not set');
  return JSON.parse(raw) as T;
}
