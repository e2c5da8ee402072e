import type { Device } from '../../core/devices.js';
import type { Challenge } from '../../methods/code/challenges.js';

/** A device as the API returns it: times as ISO strings, no internal fields. */
export function deviceJson(device: Device) {
  return {
    id: device.id,
    type: device.type,
    email: device.email,
    nickname: device.nickname,
    status: device.status,
    default: device.default,
    createdAt: device.createdAt.toISOString(),
    updatedAt: device.updatedAt.toISOString(),
    activatedAt: device.activatedAt ? device.activatedAt.toISOString() : null,
  };
}

export function devicesJson(devices: Device[]) {
  return { _embedded: { devices: devices.map(deviceJson) }, count: devices.length };
}

export function authenticationJson(challenge: Challenge) {
  return {
    id: challenge.id,
    status: challenge.status,
    device: { id: challenge.deviceId, sentTo: challenge.sentTo },
    expiresAt: challenge.expiresAt.toISOString(),
  };
}
