import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** The raw header block, to check for injected headers. */
  headers: ParsedMail['headers'];
  raw: string;
}

/** A real SMTP server on a free loopback port that keeps what it receives. */
export class SmtpSink {
  readonly received: ReceivedMail[] = [];
  private waiters: Array<{ match: (m: ReceivedMail) => boolean; resolve: (m: ReceivedMail) => void }> = [];
  private server!: SMTPServer;
  private readonly transports: Array<{ close(): void }> = [];
  port = 0;

  static async start(): Promise<SmtpSink> {
    const sink = new SmtpSink();
    sink.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, _session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', async () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const parsed = await simpleParser(raw);
          const to = (Array.isArray(parsed.to) ? parsed.to : parsed.to ? [parsed.to] : []).flatMap((a) => a.value.map((v) => v.address ?? ''));
          sink.deliver({ to, subject: parsed.subject ?? '', text: parsed.text ?? '', html: typeof parsed.html === 'string' ? parsed.html : '', headers: parsed.headers, raw });
          callback();
        });
      },
    });
    sink.server.listen(0, '127.0.0.1');
    await once(sink.server.server, 'listening');
    sink.port = (sink.server.server.address() as AddressInfo).port;
    return sink;
  }

  /** A pooled nodemailer transport that sends to this sink. */
  transport() {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: this.port, secure: false, ignoreTLS: true, pool: true });
    this.transports.push(transport);
    return transport;
  }

  private deliver(mail: ReceivedMail): void {
    this.received.push(mail);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(mail)) return true;
      w.resolve(mail);
      return false;
    });
  }

  /** The next mail to `address` (received after `after` mails), waiting up to `timeoutMs`. */
  next(address: string, options: { subject?: RegExp; after?: number; timeoutMs?: number } = {}): Promise<ReceivedMail> {
    const after = options.after ?? this.received.length;
    const match = (m: ReceivedMail) => m.to.includes(address) && (!options.subject || options.subject.test(m.subject));
    const already = this.received.slice(after).find(match);
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no mail to ${address} within ${options.timeoutMs ?? 5000} ms`)), options.timeoutMs ?? 5000);
      this.waiters.push({ match, resolve: (m) => { clearTimeout(timer); resolve(m); } });
    });
  }

  count(): number {
    return this.received.length;
  }

  async close(): Promise<void> {
    for (const transport of this.transports) transport.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The one-time code in a mail: read from the text body, as a person would. */
export function codeFrom(mail: ReceivedMail): string {
  const match = /\b(\d{6,10})\b/.exec(mail.text);
  if (!match) throw new Error(`no code in mail: ${mail.text}`);
  return match[1]!;
}
