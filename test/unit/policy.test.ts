import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { MfaOptions, SignOnPolicyOptions } from '../../src/config/options.js';
import { resolveOptions } from '../../src/config/resolve.js';
import type { ResolvedPolicy } from '../../src/config/resolved.js';
import { evaluatePolicy, inNetworks, type PolicyInput } from '../../src/core/policy.js';
import type { DeviceRecord } from '../../src/stores/types.js';

interface U {
  id: string;
  admin?: boolean;
}

function policy(options: SignOnPolicyOptions<U> = {}): ResolvedPolicy<U> {
  return resolveOptions<U>({ user: { id: (u) => u.id }, policy: options } as MfaOptions<U>, { NODE_ENV: 'test' }).policies.get('default')!;
}

function device(id: string, order = 0): DeviceRecord {
  return {
    id,
    userId: 'u1',
    type: 'email',
    data: { email: `${id}@example.test` },
    nickname: null,
    status: 'ACTIVE',
    order,
    createdAt: 1,
    updatedAt: 1,
    activatedAt: 1,
    activationChallengeId: null,
  };
}


/** An input whose device list records whether it was read. */
function input(extra: Partial<PolicyInput<U>> = {}, devices: DeviceRecord[] = []) {
  const reads = { count: 0 };
  const value: PolicyInput<U> = {
    user: { id: 'u1' },
    userId: 'u1',
    ip: '192.0.2.10',
    request: { marker: 'req' },
    trusted: async () => false,
    devices: async () => {
      reads.count++;
      return devices;
    },
    ...extra,
  };
  return { value, reads };
}

function list(...ranges: string[]): BlockList {
  return policy({ skipNetworks: ranges }).skipNetworks!;
}

describe('evaluatePolicy', () => {
  it('denies a user whose devices are blocked, whatever noDevice says: a password alone must not pair another', async () => {
    const blocked = { ...device('d1'), status: 'BLOCKED' as const };
    for (const noDevice of ['enroll', 'bypass', 'deny'] as const) {
      expect(await evaluatePolicy(policy({ noDevice }), input({}, [blocked]).value)).toEqual({ action: 'deny' });
    }
    const pending = { ...device('d2'), status: 'ACTIVATION_REQUIRED' as const };
    expect(await evaluatePolicy(policy(), input({}, [pending]).value)).toEqual({ action: 'enroll' });
  });

  it('challenges on the first active device when no exception matches', async () => {
    const devices = [device('d1'), device('d2', 1)];
    const decision = await evaluatePolicy(policy(), input({}, devices).value);
    expect(decision).toEqual({ action: 'challenge', device: devices[0], devices });
  });

  it('skips when the skip predicate answers true, before reading any device; it gets the user and the request', async () => {
    const seen: unknown[] = [];
    const p = policy({ skip: (user, req) => (seen.push(user, req), user.admin === true) });
    const { value, reads } = input({ user: { id: 'u3', admin: true } }, [device('d1')]);
    expect(await evaluatePolicy(p, value)).toEqual({ action: 'skip', reason: 'skip' });
    expect(reads.count).toBe(0);
    expect(seen).toEqual([{ id: 'u3', admin: true }, { marker: 'req' }]);
  });

  it('awaits an async skip predicate, and skips only on exactly true', async () => {
    expect(await evaluatePolicy(policy({ skip: async () => true }), input().value)).toEqual({ action: 'skip', reason: 'skip' });
    for (const answer of [1, 'yes', {}, false]) {
      const p = policy({ skip: (() => answer) as unknown as () => boolean });
      expect((await evaluatePolicy(p, input({}, [device('d1')]).value)).action).toBe('challenge');
    }
  });

  it('skips for a client in skipNetworks', async () => {
    const p = policy({ skipNetworks: ['10.0.0.0/8', '2001:db8::/32'] });
    expect(await evaluatePolicy(p, input({ ip: '10.9.8.7' }).value)).toEqual({ action: 'skip', reason: 'network' });
    expect(await evaluatePolicy(p, input({ ip: '::ffff:10.9.8.7' }).value)).toEqual({ action: 'skip', reason: 'network' });
    expect(await evaluatePolicy(p, input({ ip: '2001:db8:ab::1' }).value)).toEqual({ action: 'skip', reason: 'network' });
    expect((await evaluatePolicy(p, input({ ip: '11.0.0.1' }, [device('d1')]).value)).action).toBe('challenge');
    expect((await evaluatePolicy(p, input({ ip: undefined }, [device('d1')]).value)).action).toBe('challenge');
  });

  it('skips a trusted browser (reason trusted) only with trustBrowser, and asks the browser only then', async () => {
    const p = policy({ trustBrowser: '30d' });
    let asked = 0;
    const trusted = (answer: boolean) => async () => {
      asked++;
      return answer;
    };
    expect(await evaluatePolicy(p, input({ trusted: trusted(true) }, [device('d1')]).value)).toEqual({ action: 'skip', reason: 'trusted' });
    expect((await evaluatePolicy(p, input({ trusted: trusted(false) }, [device('d1')]).value)).action).toBe('challenge');
    expect(asked).toBe(2);
    // Without trustBrowser a trusted browser means nothing, and is not even asked (no store read).
    expect((await evaluatePolicy(policy(), input({ trusted: trusted(true) }, [device('d1')]).value)).action).toBe('challenge');
    expect(asked).toBe(2);
  });

  it('asks the browser after skip and networks: an exception that matched first reads no trust', async () => {
    let asked = 0;
    const trusted = async () => {
      asked++;
      return true;
    };
    const p = policy({ trustBrowser: '30d', skip: (u) => u.admin === true, skipNetworks: ['10.0.0.0/8'] });
    expect(await evaluatePolicy(p, input({ user: { id: 'u1', admin: true }, trusted }, [device('d1')]).value)).toEqual({ action: 'skip', reason: 'skip' });
    expect(await evaluatePolicy(p, input({ ip: '10.1.1.1', trusted }, [device('d1')]).value)).toEqual({ action: 'skip', reason: 'network' });
    expect(asked).toBe(0);
  });

  it('never lets a trusted browser stand in for a missing or blocked method, nor asks it then (failed before: the cookie was read first)', async () => {
    const p = policy({ trustBrowser: '30d' });
    let asked = 0;
    const trusted = async () => {
      asked++;
      return true;
    };
    const blocked = { ...device('d2'), status: 'BLOCKED' as const };
    expect(await evaluatePolicy(p, input({ trusted }).value)).toEqual({ action: 'enroll' });
    expect(await evaluatePolicy(p, input({ trusted }, [blocked]).value)).toEqual({ action: 'deny' });
    expect((await evaluatePolicy(p, input({ trusted }, [device('d1'), blocked]).value)).action).toBe('challenge');
    const waiting = { ...device('d3'), status: 'ACTIVATION_REQUIRED' as const };
    expect(await evaluatePolicy(p, input({ trusted }, [waiting]).value)).toEqual({ action: 'enroll' });
    expect(asked).toBe(0);
  });

  it("decides for a user without a device by noDevice: 'enroll' (default), 'bypass' or 'deny'", async () => {
    expect(await evaluatePolicy(policy(), input().value)).toEqual({ action: 'enroll' });
    expect(await evaluatePolicy(policy({ noDevice: 'enroll' }), input().value)).toEqual({ action: 'enroll' });
    expect(await evaluatePolicy(policy({ noDevice: 'bypass' }), input().value)).toEqual({ action: 'skip', reason: 'no-device' });
    expect(await evaluatePolicy(policy({ noDevice: 'deny' }), input().value)).toEqual({ action: 'deny' });
    expect((await evaluatePolicy(policy({ noDevice: 'deny' }), input({}, [device('d1')]).value)).action).toBe('challenge');
  });
});

describe('inNetworks', () => {
  it('matches IPv4 addresses against IPv4 ranges', () => {
    const l = list('10.0.0.0/8', '192.168.1.0/24', '203.0.113.5');
    expect(inNetworks(l, '10.0.0.1')).toBe(true);
    expect(inNetworks(l, '10.255.255.255')).toBe(true);
    expect(inNetworks(l, '11.0.0.0')).toBe(false);
    expect(inNetworks(l, '192.168.1.200')).toBe(true);
    expect(inNetworks(l, '192.168.2.1')).toBe(false);
    expect(inNetworks(l, '203.0.113.5')).toBe(true);
    expect(inNetworks(l, '203.0.113.6')).toBe(false);
  });

  it('matches IPv6 addresses against IPv6 ranges', () => {
    const l = list('2001:db8::/32', '::1/128', 'fe80::/10');
    expect(inNetworks(l, '2001:db8::1')).toBe(true);
    expect(inNetworks(l, '2001:0db8:ffff::abcd')).toBe(true);
    expect(inNetworks(l, '2001:db9::1')).toBe(false);
    expect(inNetworks(l, '::1')).toBe(true);
    expect(inNetworks(l, '::2')).toBe(false);
    expect(inNetworks(l, 'fe80::1234')).toBe(true);
  });

  it('treats an IPv4-mapped IPv6 address (::ffff:1.2.3.4) as the IPv4 address', () => {
    const l = list('1.2.3.0/24', '127.0.0.0/8');
    expect(inNetworks(l, '::ffff:1.2.3.4')).toBe(true);
    expect(inNetworks(l, '::FFFF:1.2.3.4')).toBe(true);
    expect(inNetworks(l, '::ffff:127.0.0.1')).toBe(true);
    expect(inNetworks(l, '::ffff:1.2.4.4')).toBe(false);
    expect(inNetworks(l, '::ffff:102:304')).toBe(true);
  });

  it('does not match across families, or anything that is not an address', () => {
    expect(inNetworks(list('10.0.0.0/8'), '2001:db8::1')).toBe(false);
    expect(inNetworks(list('2001:db8::/32'), '10.0.0.1')).toBe(false);
    for (const junk of ['', 'localhost', '10.0.0', '10.0.0.1/8', 'unknown']) expect(inNetworks(list('10.0.0.0/8', '::/0'), junk)).toBe(false);
  });
});
