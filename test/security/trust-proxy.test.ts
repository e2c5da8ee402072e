/**
 * Behind a TLS-terminating proxy, an app without `trust proxy` sees every
 * request as plain http: the mfa_trust cookie goes out without Secure. In
 * production the library says so once, at the first request.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryMfaStore } from '../../src/index.js';
import { agent, createTestApp, type TestApp } from '../helpers/app.js';
import { useSink } from './support.js';

const sink = useSink();

afterEach(() => {
  vi.unstubAllEnvs();
});

const proxyWarnings = (t: TestApp) => t.logs.filter((l) => l.level === 'warn' && /trust proxy/.test(l.message));

async function requests(t: TestApp): Promise<void> {
  const a = agent(t.app);
  for (const path of ['/', '/mfa/challenge', '/plain', '/mfa/assets/mfa.css']) await a.get(path);
}

describe("a warning when production runs without Express's trust proxy", () => {
  it('warns once, at the first request, in production with trust proxy off', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    const t = createTestApp({ sink: sink(), mfa: { store: new MemoryMfaStore() } });
    t.app.set('trust proxy', false);
    expect(proxyWarnings(t)).toEqual([]);
    await requests(t);
    await requests(t);
    expect(proxyWarnings(t)).toHaveLength(1);
    expect(proxyWarnings(t)[0]!.message).toMatch(/app\.set\('trust proxy'/);
  });

  it('does not warn when trust proxy is set', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    const t = createTestApp({ sink: sink(), mfa: { store: new MemoryMfaStore() } });
    t.app.set('trust proxy', 1);
    await requests(t);
    expect(proxyWarnings(t)).toEqual([]);
  });

  it('does not warn outside production', async () => {
    vi.stubEnv('NODE_ENV', 'development');
    const t = createTestApp({ sink: sink() });
    t.app.set('trust proxy', false);
    await requests(t);
    expect(proxyWarnings(t)).toEqual([]);
  });
});
