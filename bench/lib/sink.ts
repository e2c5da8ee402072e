import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

interface Waiter {
  resolve: (code: string) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A real SMTP server on a loopback port that reads the one-time code out of
 * each message (the text part says "code: 123456") and hands it to whoever
 * waits for that recipient. Lighter than a full MIME parse, so that the
 * driver's own work stays small next to the server's.
 */
export class CodeSink {
  port = 0;
  received = 0;
  private server!: SMTPServer;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly unclaimed = new Map<string, string[]>();

  static async start(): Promise<CodeSink> {
    const sink = new CodeSink();
    sink.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      disableReverseLookup: true,
      size: 1024 * 1024,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const code = /code: (\d{6,10})\b/.exec(raw)?.[1];
          for (const rcpt of session.envelope.rcptTo) if (code) sink.deliver(rcpt.address.toLowerCase(), code);
          sink.received += 1;
          callback();
        });
      },
    });
    // Replies go out at once (no Nagle delay waiting for the client's ACK).
    sink.server.server.on('connection', (socket: import('node:net').Socket) => socket.setNoDelay(true));
    sink.server.listen(0, '127.0.0.1');
    await once(sink.server.server, 'listening');
    sink.port = (sink.server.server.address() as AddressInfo).port;
    return sink;
  }

  private deliver(address: string, code: string): void {
    const waiting = this.waiters.get(address);
    const waiter = waiting?.shift();
    if (waiting && waiting.length === 0) this.waiters.delete(address);
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(code);
      return;
    }
    const list = this.unclaimed.get(address) ?? [];
    list.push(code);
    if (list.length > 16) list.shift();
    this.unclaimed.set(address, list);
  }

  /** Forgets codes nobody waited for and gives up every wait for `address` (after a failed flow). */
  forget(address: string): void {
    const key = address.toLowerCase();
    this.unclaimed.delete(key);
    for (const waiter of this.waiters.get(key) ?? []) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`gave up waiting for ${address}`));
    }
    this.waiters.delete(key);
  }

  /** The next code sent to `address`. Register before the request that sends it. */
  next(address: string, timeoutMs = 10_000): Promise<string> {
    const key = address.toLowerCase();
    const ready = this.unclaimed.get(key)?.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const list = this.waiters.get(key);
          if (list) list.splice(list.indexOf(waiter), 1);
          reject(new Error(`no code for ${address} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      const list = this.waiters.get(key) ?? [];
      list.push(waiter);
      this.waiters.set(key, list);
    });
  }

  async close(): Promise<void> {
    for (const list of this.waiters.values()) for (const w of list) clearTimeout(w.timer);
    this.waiters.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
