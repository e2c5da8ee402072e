/**
 * One part of the sign-on's floor, in its own process: `sendMail` of a
 * given message through the transport the sign-on servers use (pooled
 * nodemailer to the bench's SMTP sink), so that its CPU time is measured
 * alone.
 */
import { benchTransport } from '../lib/mail.js';
import { serveCommands, serverConfig } from '../lib/server.js';

interface MailSenderConfig {
  smtpPort: number;
}

const config = serverConfig<MailSenderConfig>();
const transport = benchTransport(config.smtpPort);

serveCommands(
  {
    cpu: () => {
      const { user, system } = process.cpuUsage();
      return { micros: user + system };
    },
    /** Sends `message` to each of `recipients` in turn, `concurrency` at a time, until `seconds` have passed. */
    send: async (payload) => {
      const { message, recipients, concurrency, seconds } = payload as unknown as {
        message: Record<string, unknown>;
        recipients: string[];
        concurrency: number;
        seconds: number;
      };
      const deadline = performance.now() + seconds * 1000;
      let sent = 0;
      let errors = 0;
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < deadline) {
            const to = recipients[next++ % recipients.length];
            try {
              await transport.sendMail({ ...message, to });
              sent += 1;
            } catch {
              errors += 1;
              await new Promise((r) => setTimeout(r, 20));
            }
          }
        }),
      );
      return { sent, errors };
    },
  },
  async () => {
    transport.close();
  },
);
process.send?.({ type: 'ready', port: 0 });
