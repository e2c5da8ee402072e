/**
 * The attacker, in its own process so that its load does not slow the
 * victim's timings in the bench process: autocannon POSTs wrong codes to
 * /mfa/challenge, each request for the next of many pending sign-ons.
 */
import autocannon from 'autocannon';
import { serveCommands } from '../lib/server.js';

interface Attacker {
  cookie: string;
  csrf: string;
  wrong: string;
}

serveCommands(
  {
    attack: async (payload) => {
      const { port, attackers, seconds, connections } = payload as unknown as { port: number; attackers: Attacker[]; seconds: number; connections: number };
      let next = 0;
      const statuses: Record<string, number> = {};
      const bodies = attackers.map((a) => `_mfa_csrf=${encodeURIComponent(a.csrf)}&otp=${a.wrong}`);
      const result = await autocannon({
        url: `http://127.0.0.1:${port}`,
        connections,
        duration: Math.max(0.5, seconds),
        requests: [
          {
            method: 'POST',
            path: '/mfa/challenge',
            setupRequest: (request) => {
              const i = next++ % attackers.length;
              return {
                ...request,
                headers: { cookie: attackers[i]!.cookie, 'content-type': 'application/x-www-form-urlencoded' },
                body: bodies[i]!,
              };
            },
            onResponse: (status) => {
              statuses[status] = (statuses[status] ?? 0) + 1;
            },
          },
        ],
      });
      return {
        rps: result.requests.total / (result.duration || seconds),
        requests: result.requests.total,
        p50: result.latency.p50,
        p99: result.latency.p99,
        errors: result.errors + result.timeouts,
        statuses,
      };
    },
  },
  async () => {},
);
process.send?.({ type: 'ready', port: 0 });
