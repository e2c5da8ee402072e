import type { DeviceRecord } from './types.js';

/** How every store lists a user's devices: by their order, ties by creation, then id, so that all stores list alike. */
export function byOrder(a: DeviceRecord, b: DeviceRecord): number {
  return a.order - b.order || a.createdAt - b.createdAt || a.id.localeCompare(b.id);
}
