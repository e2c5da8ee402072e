import type { DeviceRecord } from '../../stores/types.js';

/**
 * The number of a phone device (SMS or voice), in E.164. The store keeps
 * what a method needs as opaque `data`; this is the one place that reads the
 * phone methods' shape of it (`{ phone }`).
 */
export function phoneOf(device: DeviceRecord): string {
  const phone = device.data.phone;
  if (typeof phone !== 'string') throw new TypeError(`express-mfa: device ${device.id} (${device.type}) holds no phone number.`);
  return phone;
}
