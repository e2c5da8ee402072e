/**
 * The device authentication policy per method and the policy's permitted
 * methods, checked at start-up with messages that say what to write.
 */
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/config/resolve.js';
import type { MfaOptions } from '../../src/index.js';

const resolve = (extra: Record<string, unknown>) => resolveOptions({ ...extra } as MfaOptions, { NODE_ENV: 'test' });

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as Error).message;
  }
  throw new Error('expected a TypeError');
}

describe('methods', () => {
  it('has the documented defaults for every method', () => {
    const { methods, policies } = resolve({});
    expect(methods.email).toEqual({
      enabled: true, pairingDisabled: false, nickname: true, codeLength: 6,
      otpLength: 6, otpLifetimeMs: 600_000, attemptsPerCode: 3, resendCooldownMs: 30_000,
    });
    expect(methods.totp).toEqual({ enabled: true, pairingDisabled: false, nickname: true, codeLength: 6 });
    expect(policies.get('default')!.methods).toEqual(['email', 'totp', 'recovery']);
  });

  it('takes enabled, pairingDisabled, nickname and an issuer', () => {
    const { methods } = resolve({ methods: { totp: { enabled: false, pairingDisabled: true, nickname: false, issuer: ' Acme ' }, email: { pairingDisabled: true } } });
    expect(methods.totp).toEqual({ enabled: false, pairingDisabled: true, nickname: false, codeLength: 6, issuer: 'Acme' });
    expect(methods.email.pairingDisabled).toBe(true);
  });

  it('refuses what it cannot use, saying what to write', () => {
    expect(messageOf(() => resolve({ methods: { sms: {} } }))).toContain('Known options: email, totp');
    expect(messageOf(() => resolve({ methods: { totp: { period: 60 } } }))).toContain('unknown option methods.totp.period');
    expect(messageOf(() => resolve({ methods: { totp: { issuer: 'Acme:Corp' } } }))).toContain("without ':'");
    expect(messageOf(() => resolve({ methods: { totp: { enabled: 'no' } } }))).toContain('methods.totp.enabled must be true or false');
    expect(messageOf(() => resolve({ methods: { email: { lockAfter: 3 } } }))).toContain('write limits: { lockAfter } instead');
    expect(messageOf(() => resolve({ methods: 'email' }))).toContain('methods must be an object');
  });
});

describe("a policy's methods", () => {
  it('names methods and recovery codes only', () => {
    expect(resolve({ policy: { methods: ['totp', 'recovery', 'totp'] } }).policies.get('default')!.methods).toEqual(['totp', 'recovery']);
    expect(messageOf(() => resolve({ policy: { methods: ['sms'] } }))).toContain("of 'email', 'totp', 'recovery'");
    expect(messageOf(() => resolve({ policy: { methods: [] } }))).toContain('non-empty array');
  });

  it('refuses to permit a method that is off', () => {
    expect(messageOf(() => resolve({ methods: { totp: { enabled: false } }, policies: { apps: { methods: ['totp'] } } })))
      .toContain("policies.apps.methods permits 'totp', which methods.totp.enabled turns off");
  });
});
