import type { DeviceRecord } from '../../stores/types.js';

/**
 * The address of an email device. The store keeps what a method needs as
 * opaque `data`; this is the one place that reads the email method's shape
 * of it (`{ email }`), so that it can move with the method.
 */
export function emailOf(device: DeviceRecord): string {
  const email = device.data.email;
  if (typeof email !== 'string') throw new TypeError(`express-mfa: device ${device.id} (${device.type}) holds no email address.`);
  return email;
}
