import { isIP, type BlockList } from 'node:net';
import type { ResolvedPolicy } from '../config/resolved.js';

/** What the policy reads of a device: its method and its status. */
export interface PolicyDevice {
  type: string;
  status: 'ACTIVATION_REQUIRED' | 'ACTIVE' | 'BLOCKED';
}

export type PolicyDecision<Device extends PolicyDevice = PolicyDevice> =
  | { action: 'skip'; reason: 'skip' | 'network' | 'trusted' | 'no-device' }
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
  /**
   * Whether this browser is one the user trusts (and, if so, its trust used
   * up and renewed); only asked for a user with a usable method and no blocked one.
   */
  trusted: () => Promise<boolean>;
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
  // A trusted browser vouches for a method the user still has; it never stands in for a missing or blocked one.
  if (devices.length > 0 && !blocked && policy.trustBrowserMs !== false && (await input.trusted())) return { action: 'skip', reason: 'trusted' };
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
