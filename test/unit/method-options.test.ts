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
    expect(methods.fido2).toEqual({
      enabled: true, pairingDisabled: false, nickname: true, codeLength: 0,
      userVerification: 'preferred', residentKey: 'preferred', attestation: 'none', timeoutMs: 300_000,
    });
    // Off without a gateway to send through, and an off method is never offered: permitted by default all the same.
    for (const type of ['sms', 'voice'] as const) {
      expect(methods[type]).toEqual({
        enabled: false, pairingDisabled: false, nickname: true, codeLength: 6, offHint: `needs methods.${type}.send to be on`,
        otpLength: 6, otpLifetimeMs: 600_000, attemptsPerCode: 3, resendCooldownMs: 30_000,
      });
    }
    expect(policies.get('default')!.methods).toEqual(['email', 'totp', 'fido2', 'sms', 'voice', 'recovery']);
  });

  it('takes enabled, pairingDisabled, nickname and an issuer', () => {
    const { methods } = resolve({ methods: { totp: { enabled: false, pairingDisabled: true, nickname: false, issuer: ' Acme ' }, email: { pairingDisabled: true } } });
    expect(methods.totp).toEqual({ enabled: false, pairingDisabled: true, nickname: false, codeLength: 6, issuer: 'Acme' });
    expect(methods.email.pairingDisabled).toBe(true);
  });

  it('refuses what it cannot use, saying what to write', () => {
    expect(messageOf(() => resolve({ methods: { pager: {} } }))).toContain('Known options: email, totp, fido2, sms, voice');
    expect(messageOf(() => resolve({ methods: { totp: { period: 60 } } }))).toContain('unknown option methods.totp.period');
    expect(messageOf(() => resolve({ methods: { totp: { issuer: 'Acme:Corp' } } }))).toContain("without ':'");
    expect(messageOf(() => resolve({ methods: { totp: { enabled: 'no' } } }))).toContain('methods.totp.enabled must be true or false');
    expect(messageOf(() => resolve({ methods: { email: { lockAfter: 3 } } }))).toContain('write limits: { lockAfter } instead');
    expect(messageOf(() => resolve({ methods: 'email' }))).toContain('methods must be an object');
  });
});

describe('methods.fido2', () => {
  it('takes an RP ID and origins on it, and refuses what a browser would refuse', () => {
    const { fido2 } = resolve({ methods: { fido2: { rpId: 'acme.test', origins: ['https://acme.test', 'https://app.acme.test:8443'], rpName: 'Acme', userVerification: 'required' } } }).methods;
    expect(fido2).toMatchObject({ rpId: 'acme.test', origins: ['https://acme.test', 'https://app.acme.test:8443'], rpName: 'Acme', userVerification: 'required' });
    expect(messageOf(() => resolve({ methods: { fido2: { rpId: 'https://acme.test' } } }))).toContain("your site's domain");
    expect(messageOf(() => resolve({ methods: { fido2: { rpId: 'acme.test', origins: ['https://evil.test'] } } }))).toContain('is not on methods.fido2.rpId acme.test');
    expect(messageOf(() => resolve({ methods: { fido2: { origins: ['http://acme.test'] } } }))).toContain('http only for localhost');
    expect(messageOf(() => resolve({ methods: { fido2: { origins: ['https://acme.test/login'] } } }))).toContain('is not an origin');
    expect(messageOf(() => resolve({ methods: { fido2: { origins: [] } } }))).toContain('non-empty array');
    expect(messageOf(() => resolve({ methods: { fido2: { userVerification: 'always' } } }))).toContain('methods.fido2.userVerification');
  });
});

describe("a policy's methods", () => {
  it('names methods and recovery codes only', () => {
    expect(resolve({ policy: { methods: ['totp', 'recovery', 'totp'] } }).policies.get('default')!.methods).toEqual(['totp', 'recovery']);
    expect(messageOf(() => resolve({ policy: { methods: ['pager'] } }))).toContain("of 'email', 'totp', 'fido2', 'sms', 'voice', 'recovery'");
    expect(messageOf(() => resolve({ policy: { methods: [] } }))).toContain('non-empty array');
  });

  it('refuses to permit a method that is off', () => {
    expect(messageOf(() => resolve({ methods: { totp: { enabled: false } }, policies: { apps: { methods: ['totp'] } } })))
      .toContain("policies.apps.methods permits 'totp', which methods.totp.enabled turns off");
    // Off for want of a gateway: the message says what to give.
    expect(messageOf(() => resolve({ policies: { phones: { methods: ['sms'] } } })))
      .toContain("policies.phones.methods permits 'sms', which needs methods.sms.send to be on: give it, or remove 'sms'.");
    expect(resolve({ methods: { sms: { send: async () => {} } }, policies: { phones: { methods: ['sms'] } } }).policies.get('phones')!.methods).toEqual(['sms']);
  });
});
