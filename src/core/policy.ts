import { isIP, type BlockList } from 'node:net';
import type { ResolvedPolicy } from '../config/resolved.js';

/** What the policy reads of a device: its method and its status. */
export interface PolicyDevice {
  type: string;
  status: 'ACTIVATION_REQUIRED' | 'ACTIVE' | 'BLOCKED';
}

export type PolicyDecision<Device extends PolicyDevice = PolicyDevice> =
  | { action: 'skip'; reason: 'skip' | 'network' | 'recent' | 'no-device' }
  | { action: 'challenge'; device: Device; devices: Device[] }
  | { action: 'enroll' }
  | { action: 'deny' };

export interface PolicyInput<User, Device extends PolicyDevice = PolicyDevice> {
  user: User;
  userId: string;
  /** The client address as the app sees it (Express's req.ip, which honours 'trust proxy'). */
  ip: string | undefined;
  /** Handed to the policy's skip predicate as it is. */
  request: unknown;
  /** When this browser last completed MFA for this user, if it says so credibly; only read for a user with a usable method. */
  lastMfaAt: () => Promise<number | null>;
  now: number;
  /** All the user's devices, the default first; only read when no exception matched. */
  devices: () => Promise<Device[]>;
}

/** Decides what the password step leads to: skip, challenge, enroll or deny. */
export async function evaluatePolicy<User, Device extends PolicyDevice>(
  policy: ResolvedPolicy<User>,
  input: PolicyInput<User, Device>,
): Promise<PolicyDecision<Device>> {
  if (policy.skip && (await policy.skip(input.user, input.request)) === true) return { action: 'skip', reason: 'skip' };
  if (policy.skipNetworks && input.ip && inNetworks(policy.skipNetworks, input.ip)) return { action: 'skip', reason: 'network' };
  const all = await input.devices();
  const devices = all.filter((d) => d.status === 'ACTIVE' && policy.methods.some((m) => m === d.type));
  // A blocked device means an administrator stepped in: a password alone must not pair another one, nor get past.
  const blocked = all.some((d) => d.status === 'BLOCKED');
  // "Verified recently" vouches for a method the user still has; it never stands in for a missing or blocked one.
  if (devices.length > 0 && !blocked && policy.skipWithinMs !== false) {
    const lastMfaAt = await input.lastMfaAt();
    if (lastMfaAt !== null && input.now - lastMfaAt < policy.skipWithinMs) return { action: 'skip', reason: 'recent' };
  }
  if (devices.length > 0) return { action: 'challenge', device: devices[0]!, devices };
  // Methods the policy does not accept are still the user's: a password alone pairs nothing next to them.
  if (blocked || all.some((d) => d.status === 'ACTIVE')) return { action: 'deny' };
  switch (policy.noDevice) {
    case 'enroll':
      return { action: 'enroll' };
    case 'bypass':
      return { action: 'skip', reason: 'no-device' };
    case 'deny':
      return { action: 'deny' };
  }
}

export function inNetworks(list: BlockList, ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return list.check(mapped[1]!, 'ipv4');
  const family = isIP(ip);
  return family !== 0 && list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}
