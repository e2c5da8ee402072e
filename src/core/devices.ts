import { maskEmailAddress, parseEmailAddress } from '../methods/email/address.js';
import type { EmailSender } from '../delivery/email.js';
import { DeviceExistsError, LimitExceededError, NotFoundError, OtpError, ValidationError } from './errors.js';
import type { EventBus, RequestContext } from './events.js';
import type { Logger } from '../config/contracts.js';
import type { ResolvedLimits } from '../config/resolved.js';
import type { Challenge, ChallengeService } from '../methods/code/challenges.js';
import { newId } from '../methods/code/code.js';
import type { SecurityStamps } from './stamps.js';
import type { DeviceRecord, DeviceStatus, DeviceType, MfaStore } from '../stores/types.js';
import { emailOf } from '../methods/email/data.js';

/** An authentication device as the app and the API see it. */
export interface Device {
  id: string;
  userId: string;
  type: DeviceType;
  email: string;
  /** The address with most of it hidden, for pages shown before sign-on completes. */
  maskedEmail: string;
  nickname: string | null;
  status: DeviceStatus;
  default: boolean;
  createdAt: Date;
  updatedAt: Date;
  activatedAt: Date | null;
}

export interface CreateDeviceInput {
  type?: 'email';
  email: unknown;
  nickname?: unknown;
}

export interface RemoveOptions {
  /** Removes the user's last active method too: for an administrator, never for the user. Default false. */
  allowLast?: boolean;
}

export interface DeviceUpdate {
  nickname?: unknown;
  /** true makes this device the default one: it moves to the front of the user's list. */
  default?: boolean;
}

/** Pairs, activates, lists and removes a user's authentication devices. */
export class DeviceService {
  constructor(
    private readonly store: MfaStore,
    private readonly challenges: ChallengeService,
    private readonly sender: EmailSender,
    private readonly limits: ResolvedLimits,
    private readonly events: EventBus,
    private readonly logger: Logger,
    private readonly stamps: SecurityStamps,
    private readonly now: () => number = Date.now,
  ) {}

  async list(userId: string): Promise<Device[]> {
    const records = await this.store.listDevices(userId);
    return records.map((d) => toDevice(d, records));
  }

  async get(userId: string, deviceId: string): Promise<Device> {
    return this.view(await this.record(userId, deviceId));
  }

  /** All devices in the user's order: the first active one is the default. */
  async records(userId: string): Promise<DeviceRecord[]> {
    return this.store.listDevices(userId);
  }

  /**
   * Whether the user has a device beyond one waiting for its pairing code
   * (active or blocked): such a user no longer pairs during sign-on.
   */
  async hasPairedDevice(userId: string): Promise<boolean> {
    return (await this.store.listDevices(userId)).some((d) => d.status !== 'ACTIVATION_REQUIRED');
  }

  /** Active devices, the default one first. */
  async active(userId: string): Promise<DeviceRecord[]> {
    return (await this.records(userId)).filter((d) => d.status === 'ACTIVE');
  }

  async record(userId: string, deviceId: string): Promise<DeviceRecord> {
    const device = typeof deviceId === 'string' ? await this.store.getDevice(userId, deviceId) : null;
    if (!device) throw new NotFoundError('No such authentication method.', 'device');
    return device;
  }

  /**
   * Adds an email device and sends it the pairing code; it stays
   * ACTIVATION_REQUIRED until that code is entered. Pairing an address that
   * is waiting for activation again sends it a new code.
   */
  async create(userId: string, input: CreateDeviceInput, context: RequestContext = {}): Promise<{ device: Device; challenge: Challenge }> {
    if (input.type !== undefined && input.type !== 'email') throw new ValidationError("The only device type is 'email'.", 'type');
    const email = parseEmailAddress(input.email);
    const nickname = parseNickname(input.nickname);
    const now = this.now();
    const existing = (await this.store.listDevices(userId)).find((d) => emailOf(d).toLowerCase() === email.toLowerCase());
    if (existing && existing.status !== 'ACTIVATION_REQUIRED') throw new DeviceExistsError();

    let device = existing;
    if (!device) {
      await this.stamps.renew(userId);
      const inserted = await this.store.insertDevice({
        id: newId(),
        userId,
        type: 'email',
        data: { email },
        nickname,
        status: 'ACTIVATION_REQUIRED',
        createdAt: now,
        updatedAt: now,
        activatedAt: null,
        activationChallengeId: null,
      }, this.limits.maxDevices);
      if (!inserted) throw new LimitExceededError(this.limits.maxDevices);
      device = inserted;
      this.events.publish('device.created', userId, context, { deviceId: device.id });
    } else if (device.activationChallengeId) {
      await this.challenges.cancel(userId, device.activationChallengeId);
    }

    let challenge: Challenge;
    try {
      challenge = await this.challenges.start(device, 'pairing', context);
    } catch (error) {
      if (!existing) await this.store.deleteDevice(userId, device.id);
      throw error;
    }
    const updated = await this.store.updateDevice(userId, device.id, {
      activationChallengeId: challenge.id,
      updatedAt: now,
      ...(existing && nickname !== null ? { nickname } : {}),
    });
    if (!updated) throw new NotFoundError('No such authentication method.', 'device');
    return { device: await this.view(updated), challenge };
  }

  /**
   * Adds an email device that is ACTIVE at once, without a pairing code: for
   * an admin who has checked the address another way, as PingOne allows.
   */
  async createActive(userId: string, input: CreateDeviceInput, context: RequestContext = {}): Promise<Device> {
    if (input.type !== undefined && input.type !== 'email') throw new ValidationError("The only device type is 'email'.", 'type');
    const email = parseEmailAddress(input.email);
    const nickname = parseNickname(input.nickname);
    const now = this.now();
    if ((await this.store.listDevices(userId)).some((d) => emailOf(d).toLowerCase() === email.toLowerCase())) throw new DeviceExistsError();
    await this.stamps.renew(userId);
    // Last in the user's order: the default only when the user has no other active method.
    const device = await this.store.insertDevice({
      id: newId(),
      userId,
      type: 'email',
      data: { email },
      nickname,
      status: 'ACTIVE',
      createdAt: now,
      updatedAt: now,
      activatedAt: now,
      activationChallengeId: null,
    }, this.limits.maxDevices);
    if (!device) throw new LimitExceededError(this.limits.maxDevices);
    this.events.publish('device.created', userId, context, { deviceId: device.id });
    this.events.publish('device.activated', userId, context, { deviceId: device.id });
    await this.notify(userId, 'device-added', device, device.id, context);
    return this.view(device);
  }

  /** A blocked device gets no codes, and codes already sent to it stop working, until it is unblocked. */
  async block(userId: string, deviceId: string, context: RequestContext = {}): Promise<Device> {
    const device = await this.record(userId, deviceId);
    if (device.status === 'BLOCKED') return this.view(device);
    await this.stamps.renew(userId);
    const blocked = await this.store.updateDevice(userId, deviceId, { status: 'BLOCKED', updatedAt: this.now() });
    if (!blocked) throw new NotFoundError('No such authentication method.', 'device');
    // Codes already sent must not come back to life should the device be unblocked.
    await this.store.deleteDeviceChallenges(userId, deviceId);
    this.events.publish('device.blocked', userId, context, { deviceId });
    return this.view(blocked);
  }

  /** Back to ACTIVE, or to ACTIVATION_REQUIRED for a device that was never activated. */
  async unblock(userId: string, deviceId: string, context: RequestContext = {}): Promise<Device> {
    const device = await this.record(userId, deviceId);
    if (device.status !== 'BLOCKED') return this.view(device);
    const status = device.activatedAt === null ? 'ACTIVATION_REQUIRED' : 'ACTIVE';
    await this.stamps.renew(userId);
    const unblocked = await this.store.updateDevice(userId, deviceId, { status, updatedAt: this.now() });
    if (!unblocked) throw new NotFoundError('No such authentication method.', 'device');
    this.events.publish('device.unblocked', userId, context, { deviceId });
    return this.view(unblocked);
  }

  /**
   * Removes every device of the user (an admin resetting a user who lost all
   * of them), and voids the user's recovery codes: a reset starts afresh.
   */
  async removeAll(userId: string, context: RequestContext = {}): Promise<number> {
    await this.stamps.renew(userId);
    await this.store.replaceRecoveryCodes(userId, []);
    const devices = await this.store.listDevices(userId);
    for (const device of devices) {
      const removed = await this.store.deleteDevice(userId, device.id);
      if (!removed) continue;
      await this.store.deleteDeviceChallenges(userId, removed.id);
      this.events.publish('device.removed', userId, context, { deviceId: removed.id });
    }
    return devices.length;
  }

  /** Sends a new pairing code to a device waiting for activation. */
  async resend(userId: string, deviceId: string, context: RequestContext = {}): Promise<Challenge> {
    const device = await this.pendingActivation(userId, deviceId);
    if (device.activationChallengeId && (await this.challenges.get(userId, device.activationChallengeId))) {
      return this.challenges.resend(device, device.activationChallengeId, context);
    }
    const challenge = await this.challenges.start(device, 'pairing', context);
    await this.store.updateDevice(userId, deviceId, { activationChallengeId: challenge.id, updatedAt: this.now() });
    return challenge;
  }

  /** Checks the pairing code and makes the device ACTIVE (and the default when there is none). */
  async activate(userId: string, deviceId: string, otp: unknown, context: RequestContext = {}): Promise<Device> {
    const device = await this.pendingActivation(userId, deviceId);
    if (!device.activationChallengeId) throw new OtpError('OTP_EXPIRED', 'This code has expired or was already used. Send a new code.');
    await this.challenges.verify(userId, device.activationChallengeId, otp, 'pairing', context, deviceId);
    await this.stamps.renew(userId);
    const now = this.now();
    const activated = await this.store.updateDevice(userId, deviceId, {
      status: 'ACTIVE',
      activatedAt: now,
      activationChallengeId: null,
      updatedAt: now,
    });
    if (!activated) throw new NotFoundError('No such authentication method.', 'device');
    await this.keepDefault(userId, deviceId);
    this.events.publish('device.activated', userId, context, { deviceId });
    await this.notify(userId, 'device-added', activated, deviceId, context);
    return this.view(activated);
  }

  async update(userId: string, deviceId: string, update: DeviceUpdate, context: RequestContext = {}): Promise<Device> {
    let device = await this.record(userId, deviceId);
    if (update.nickname !== undefined) {
      const nickname = parseNickname(update.nickname);
      device = (await this.store.updateDevice(userId, deviceId, { nickname, updatedAt: this.now() })) ?? device;
      this.events.publish('device.renamed', userId, context, { deviceId });
    }
    if (update.default === true) {
      if (device.status !== 'ACTIVE') throw new ValidationError('Only an active method can be the default.', 'default');
      await this.rearrange(userId, deviceId, (ids, at) => [ids[at]!, ...ids.filter((_, i) => i !== at)]);
      this.events.publish('device.default', userId, context, { deviceId });
    }
    return this.view(device);
  }

  /**
   * Orders the user's devices as `ids`, first to last: the first active one
   * becomes the default (PingOne's rule). `ids` must name each of the user's
   * devices exactly once; a list made before a device was added or removed
   * is refused too, as the store refuses it, rather than guessed at.
   */
  async reorder(userId: string, ids: unknown, context: RequestContext = {}): Promise<Device[]> {
    const refused = () => new ValidationError("Send order: the ids of all of the user's methods, each once.", 'order');
    if (!Array.isArray(ids) || !ids.every((id): id is string => typeof id === 'string')) throw refused();
    const before = await this.store.listDevices(userId);
    const known = new Set(before.map((d) => d.id));
    if (ids.length !== known.size || new Set(ids).size !== ids.length || !ids.every((id) => known.has(id))) throw refused();
    if (!(await this.store.orderDevices(userId, ids))) throw refused();
    const after = await this.store.listDevices(userId);
    this.publishOrder(userId, before, after, context);
    return after.map((d) => toDevice(d, after));
  }

  /**
   * Moves a device one place up or down in the user's order (a no-op at
   * either end, as for a page's button posted twice); built on the same
   * whole-order write as reorder().
   */
  async move(userId: string, deviceId: string, direction: unknown, context: RequestContext = {}): Promise<Device[]> {
    if (direction !== 'up' && direction !== 'down') throw new ValidationError("direction must be 'up' or 'down'.", 'direction');
    const step = direction === 'up' ? -1 : 1;
    const { before, after } = await this.rearrange(userId, deviceId, (ids, at) => {
      const to = at + step;
      if (to < 0 || to >= ids.length) return null;
      const moved = [...ids];
      [moved[at], moved[to]] = [moved[to]!, moved[at]!];
      return moved;
    });
    if (after !== before) this.publishOrder(userId, before, after, context, deviceId);
    return after.map((d) => toDevice(d, after));
  }

  /**
   * Removes a device; when it was the default, the next active one in the
   * user's order takes over. The user's last active method stays unless
   * `allowLast`: without it, the account would sign on with the password
   * alone, or pair anew.
   */
  async remove(userId: string, deviceId: string, context: RequestContext = {}, options: RemoveOptions = {}): Promise<void> {
    await this.record(userId, deviceId);
    await this.stamps.renew(userId);
    // The rule is checked in the store's atomic delete: two parallel removals cannot both pass it.
    const removed = await this.store.deleteDevice(userId, deviceId, { keepLastActive: !options.allowLast });
    if (!removed) {
      await this.record(userId, deviceId);
      throw new ValidationError('This is your only method: add another one before you remove it.', 'device');
    }
    await this.store.deleteDeviceChallenges(userId, deviceId);
    this.events.publish('device.removed', userId, context, { deviceId });
    if (removed.status === 'ACTIVE') await this.notify(userId, 'device-removed', removed, null, context, emailOf(removed));
  }

  /** The device as the app sees it: whether it is the default depends on the user's other devices. */
  private async view(record: DeviceRecord): Promise<Device> {
    return toDevice(record, await this.store.listDevices(record.userId));
  }

  /**
   * A device just activated that would come first among the active ones (a
   * pairing begun before the user's current default, finished late) moves to
   * the end of the list: activating a method never takes the default from
   * the one the user has.
   */
  private async keepDefault(userId: string, deviceId: string): Promise<void> {
    const active = (await this.store.listDevices(userId)).filter((d) => d.status === 'ACTIVE');
    if (active.length > 1 && active[0]!.id === deviceId) await this.rearrange(userId, deviceId, (ids, at) => [...ids.filter((_, i) => i !== at), ids[at]!]);
  }

  /**
   * Writes the order that `arrange` makes of the user's device ids, given
   * where `deviceId` is among them (null: leave the order as it is). The
   * store takes only a whole order, and refuses one made from a list that
   * changed before it was written (a device added or removed meanwhile):
   * read the list again and retry. Returns the list before and after (the
   * same array when nothing was written).
   */
  private async rearrange(
    userId: string,
    deviceId: string,
    arrange: (ids: string[], at: number) => string[] | null,
  ): Promise<{ before: DeviceRecord[]; after: DeviceRecord[] }> {
    for (let tries = 0; tries < 3; tries++) {
      const before = await this.store.listDevices(userId);
      const ids = before.map((d) => d.id);
      const at = ids.indexOf(deviceId);
      if (at < 0) throw new NotFoundError('No such authentication method.', 'device');
      const order = arrange(ids, at);
      if (order === null) return { before, after: before };
      if (await this.store.orderDevices(userId, order)) return { before, after: await this.store.listDevices(userId) };
    }
    throw new Error(`express-mfa: the devices of user ${userId} kept changing while they were being ordered; try again.`);
  }

  /** device.reordered, and device.default too when the order gave the default to another device: an audit of defaults sees every change. */
  private publishOrder(userId: string, before: DeviceRecord[], after: DeviceRecord[], context: RequestContext, deviceId?: string): void {
    this.events.publish('device.reordered', userId, context, deviceId === undefined ? {} : { deviceId });
    const first = (list: DeviceRecord[]) => list.find((d) => d.status === 'ACTIVE')?.id;
    const now = first(after);
    if (now !== undefined && now !== first(before)) this.events.publish('device.default', userId, context, { deviceId: now });
  }

  private async pendingActivation(userId: string, deviceId: string): Promise<DeviceRecord> {
    const device = await this.record(userId, deviceId);
    if (device.status !== 'ACTIVATION_REQUIRED') throw new ValidationError('This method is already active.', 'status');
    return device;
  }

  /**
   * Tells the user's active addresses (and `alsoTo`) that a method was added
   * or removed, so that a change they did not make does not go unseen. The
   * change itself is done by now; a failed notice is logged, not undone.
   */
  private async notify(
    userId: string,
    kind: 'device-added' | 'device-removed',
    changed: DeviceRecord,
    exceptId: string | null,
    context: RequestContext,
    alsoTo?: string,
  ): Promise<void> {
    const recipients = (await this.store.listDevices(userId))
      .filter((d) => d.status === 'ACTIVE' && d.id !== exceptId)
      .map(emailOf);
    if (alsoTo) recipients.push(alsoTo);
    const data = { address: emailOf(changed), nickname: changed.nickname, at: new Date(this.now()) };
    await Promise.all(
      [...new Set(recipients)].map((to) =>
        this.sender.send(kind, to, data, context.locale).catch((error) => this.logger.error(`could not send the ${kind} notice for user ${userId}`, error)),
      ),
    );
  }
}

function parseNickname(input: unknown): string | null {
  if (input === undefined || input === null) return null;
  if (typeof input !== 'string') throw new ValidationError('The nickname must be text.', 'nickname');
  const nickname = input.trim();
  if (nickname.length > 64 || /[\u0000-\u001f\u007f]/.test(nickname)) {
    throw new ValidationError('Use a nickname of at most 64 characters, on one line.', 'nickname');
  }
  return nickname === '' ? null : nickname;
}

/** `all`: the user's devices in their order, in which the first active one is the default. */
function toDevice(record: DeviceRecord, all: DeviceRecord[]): Device {
  return {
    id: record.id,
    userId: record.userId,
    type: record.type,
    email: emailOf(record),
    maskedEmail: maskEmailAddress(emailOf(record)),
    nickname: record.nickname,
    status: record.status,
    default: record.status === 'ACTIVE' && all.find((d) => d.status === 'ACTIVE')?.id === record.id,
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
    activatedAt: record.activatedAt === null ? null : new Date(record.activatedAt),
  };
}
