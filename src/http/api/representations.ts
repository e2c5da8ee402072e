import type { Challenge } from '../../core/challenge-view.js';
import type { Device } from '../../core/devices.js';
import type { TrustedBrowser } from '../../core/trusted-browsers.js';

/** A device as the API returns it: times as ISO strings, the method's own fields (`email`), no internal ones. */
export function deviceJson(device: Device) {
  return {
    id: device.id,
    type: device.type,
    ...device.details,
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

/** `id` is the public one, which names its user. A device that makes its own codes was sent nothing: no sentTo, no expiry. */
export function authenticationJson(challenge: Challenge) {
  return {
    id: challenge.id,
    status: challenge.status,
    ...(challenge.options ? { publicKeyCredentialRequestOptions: challenge.options } : {}),
    device: { id: challenge.deviceId, type: challenge.type, ...(challenge.sentTo === null ? {} : { sentTo: challenge.sentTo }) },
    ...(challenge.expiresAt === null ? {} : { expiresAt: challenge.expiresAt.toISOString() }),
  };
}

/** The user's trusted browsers; `current`: the browser that asks (its cookie signed for this user). */
export function trustedBrowsersJson(browsers: TrustedBrowser[], currentId: string | undefined) {
  return {
    _embedded: {
      trustedBrowsers: browsers.map((b) => ({
        id: b.id,
        label: b.label,
        createdAt: b.createdAt.toISOString(),
        lastUsedAt: b.lastUsedAt.toISOString(),
        expiresAt: b.expiresAt.toISOString(),
        current: b.id === currentId,
      })),
    },
    count: browsers.length,
  };
}
