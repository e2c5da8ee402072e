/**
 * The peer: better-auth (email + password, two-factor plugin with its
 * emailed-OTP method, memory adapter) mounted on Express, in its own
 * process. The password hash is replaced by the same plain compare as our
 * app's, and codes go out through the same kind of pooled nodemailer
 * transport to the bench's SMTP sink.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { betterAuth } from 'better-auth';
import { memoryAdapter } from 'better-auth/adapters/memory';
import { toNodeHandler } from 'better-auth/node';
import { twoFactor } from 'better-auth/plugins';
import { benchTransport } from '../lib/mail.js';
import { serveCommands, serverConfig } from '../lib/server.js';

export interface BetterAuthAppConfig {
  users: number;
  smtpPort: number;
  smtpNoDelay?: boolean;
}

const config = serverConfig<BetterAuthAppConfig>();

async function main() {
  const transport = benchTransport(config.smtpPort, config.smtpNoDelay ?? true);
  const db: Record<string, any[]> = { user: [], session: [], account: [], verification: [], twoFactor: [] };

  const app = express();
  app.set('etag', false);
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  server.keepAliveTimeout = 60_000;
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const auth = betterAuth({
    baseURL: origin,
    secret: 'bench-secret-that-is-at-least-32-bytes-long!!',
    database: memoryAdapter(db),
    trustedOrigins: [origin],
    // Off by default outside production; said here so that it is not what we measure.
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    logger: { level: 'error' },
    emailAndPassword: {
      enabled: true,
      // The same cheap check as our app's: no scrypt.
      password: { hash: async (password: string) => password, verify: async ({ hash, password }: { hash: string; password: string }) => hash === password },
    },
    plugins: [
      twoFactor({
        otpOptions: {
          async sendOTP({ user, otp }) {
            await transport.sendMail({
              from: 'Bench <no-reply@bench.test>',
              to: user.email,
              subject: 'Your sign-on code',
              text: `Your sign-on code: ${otp}\n\nIt is valid for 3 minutes.`,
              html: `<p>Your sign-on code:</p><p style="font-size:32px">${otp}</p>`,
            });
          },
        },
      }),
    ],
  });

  app.all('/api/auth/*splat', toNodeHandler(auth));
  app.get('/', (_req, res) => res.send('home'));

  // Users with two-factor enabled, before the measurement.
  const context = await auth.$context;
  for (let i = 0; i < config.users; i++) {
    const result = await auth.api.signUpEmail({ body: { email: `user${i}@bench.test`, password: `pw${i}-long-enough`, name: `user${i}` } });
    await context.internalAdapter.updateUser(result.user.id, { twoFactorEnabled: true });
  }

  serveCommands(
    {
      /** CPU time this process has used, in microseconds (user + system). */
      cpu: () => {
        const { user, system } = process.cpuUsage();
        return { micros: user + system };
      },
      /** Drops every session (between rounds, so that all rounds start alike: the memory adapter scans its tables). */
      reset: () => {
        db.session = [];
        return {};
      },
      tables: () => Object.fromEntries(Object.entries(db).map(([k, v]) => [k, v.length])),
    },
    async () => {
      server.closeAllConnections();
      server.close();
      transport.close();
    },
  );
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
}

main().catch((error) => {
  process.send?.({ type: 'failed', error: (error as Error).stack ?? String(error) });
  setTimeout(() => process.exit(1), 50);
});
