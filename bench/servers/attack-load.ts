/**
 * The attacker, in its own process so that its load does not slow the
 * victim's timings in the bench process: autocannon POSTs wrong codes to
 * /mfa/challenge, each request for the next of many pending sign-ons, all
 * from one client address (X-Forwarded-For, which the server trusts from
 * loopback).
 */
import { setPriority } from 'node:os';
import autocannon from 'autocannon';
import { serveCommands } from '../lib/server.js';

// The attacker's CPU is its own in a real attack: here it shares the machine's cores, so it yields them to the server, Redis and the victims.
setPriority(10);

interface Attacker {
  cookie: string;
  csrf: string;
  wrong: string;
}

serveCommands(
  {
    attack: async (payload) => {
      const { port, attackers, seconds, connections, address, rate } = payload as unknown as {
        port: number;
        attackers: Attacker[];
        seconds: number;
        connections: number;
        address: string;
        /** Requests a second over all connections; 0: as fast as the server answers. */
        rate: number;
      };
      let next = 0;
      const statuses: Record<string, number> = {};
      const bodies = attackers.map((a) => `_mfa_csrf=${encodeURIComponent(a.csrf)}&otp=${a.wrong}`);
      const result = await autocannon({
        url: `http://127.0.0.1:${port}`,
        connections,
        ...(rate > 0 ? { overallRate: rate } : {}),
        duration: Math.max(0.5, seconds),
        requests: [
          {
            method: 'POST',
            path: '/mfa/challenge',
            setupRequest: (request) => {
              const i = next++ % attackers.length;
              return {
                ...request,
                headers: { cookie: attackers[i]!.cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': address },
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
