import { DeviceExistsError, LimitExceededError, NotFoundError, OtpError, ValidationError } from './errors.js';
import type { EventBus, RequestContext } from './events.js';
import type { ResolvedLimits } from '../config/resolved.js';
import { newId } from '../methods/code/code.js';
import type { AuthenticationMethod } from '../methods/method.js';
import type { MethodRegistry } from '../methods/registry.js';
import type { Notices } from './notices.js';
import { publicChallenge, type Challenge } from './challenge-view.js';
import type { SecurityStamps } from './stamps.js';
import type { DeviceRecord, DeviceStatus, DeviceType, MfaStore } from '../stores/types.js';

/** An authentication device as the app and the API see it. */
export interface Device {
  id: string;
  userId: string;
  type: DeviceType;
  /** How the device is named to its owner: the address of an email device; empty for an authenticator app. */
  label: string;
  /** The label partly hidden, for pages shown before sign-on completes. */
  maskedLabel: string;
  /** The method's own fields (`{ email }` for an email device), as the JSON API shows them. */
  details: Record<string, unknown>;
  nickname: string | null;
  status: DeviceStatus;
  default: boolean;
  createdAt: Date;
  updatedAt: Date;
  activatedAt: Date | null;
}

export interface CreateDeviceInput {
  /** The method: 'email' (the default), 'totp', … */
  type?: string;
  /** An email device's address. */
  email?: unknown;
  /** A phone device's number. */
  phone?: unknown;
  nickname?: unknown;
  /** How an authenticator app names the account (the user's address, say). Default: the user id. */
  account?: string;
}

/** A device just added: a code sent to it to activate it, or what its owner must be shown to finish pairing it. */
export interface CreatedDevice {
  device: Device;
  /** The pairing code's challenge, for a method that sends one. */
  challenge?: Challenge;
  /** For an authenticator app: `secret` (base32), `keyUri` (otpauth://), `manualKey` (in groups), `qrCode` (an SVG). Shown once. */
  pairing?: Record<string, unknown>;
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

/** Pairs, activates, lists and removes a user's authentication devices, of every method. */
export class DeviceService {
  constructor(
    private readonly store: MfaStore,
    private readonly methods: MethodRegistry,
    private readonly notices: Notices,
    private readonly limits: ResolvedLimits,
    private readonly events: EventBus,
    private readonly stamps: SecurityStamps,
    private readonly now: () => number = Date.now,
  ) {}

  async list(userId: string): Promise<Device[]> {
    const records = await this.store.listDevices(userId);
    return records.map((d) => this.toDevice(d, records));
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

  /** Active devices of a method that is on, the default one first. */
  async active(userId: string): Promise<DeviceRecord[]> {
    return (await this.records(userId)).filter((d) => d.status === 'ACTIVE' && this.methods.get(d.type) !== undefined);
  }

  async record(userId: string, deviceId: string): Promise<DeviceRecord> {
    const device = typeof deviceId === 'string' ? await this.store.getDevice(userId, deviceId) : null;
    if (!device) throw new NotFoundError('No such authentication method.', 'device');
    return device;
  }

  /**
   * The rule for adding or removing one's own methods (or a new set of
   * recovery codes): a fresh MFA, once the user has a method to answer with.
   * Pages and the API both ask it here.
   */
  async changeNeedsMfa(userId: string, mfaIsFresh: boolean): Promise<boolean> {
    return !mfaIsFresh && (await this.active(userId)).length > 0;
  }

  /**
   * Adds a device of `input.type` (default: the first method, email). A
   * method that sends codes gets the pairing code; an authenticator app gets
   * its secret, returned in `pairing` once. The device stays
   * ACTIVATION_REQUIRED until its first answer. Pairing again a device that
   * is waiting for activation (the same address) pairs that one again; a
   * method whose devices have no key (an app) replaces an unfinished pairing
   * of the same method instead of piling them up.
   */
  async create(userId: string, input: CreateDeviceInput, context: RequestContext = {}): Promise<CreatedDevice> {
    const method = this.methods.pairable(input.type);
    const nickname = parseNickname(input.nickname);
    const id = newId();
    const data = method.newDevice(input as Record<string, unknown>, { userId, deviceId: id, account: input.account ?? userId });
    const now = this.now();
    const records = await this.store.listDevices(userId);
    const same = records.filter((d) => d.type === method.type);
    const key = method.key?.(data);
    const existing = method.key && key !== undefined ? same.find((d) => method.key!(d.data) === key) : undefined;
    if (existing && existing.status !== 'ACTIVATION_REQUIRED') throw new DeviceExistsError();

    let device = existing;
    if (!device) {
      if (!method.key) {
        for (const unfinished of same.filter((d) => d.status === 'ACTIVATION_REQUIRED')) await this.drop(userId, unfinished, context);
      }
      await this.stamps.renew(userId);
      const inserted = await this.store.insertDevice({
        id,
        userId,
        type: method.type,
        data,
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
      await method.cancel?.(userId, device.activationChallengeId);
    }

    if (!method.sends) {
      if (existing && nickname !== null) device = (await this.store.updateDevice(userId, device.id, { nickname, updatedAt: now })) ?? device;
      return { device: await this.view(device), pairing: await this.showPairing(method, device, input.account ?? userId, context) };
    }
    let prompt;
    try {
      prompt = await method.prompt(device, 'pairing', context);
    } catch (error) {
      // A device whose first code never left would sit there, counting toward the limit.
      if (!existing) await this.store.deleteDevice(userId, device.id);
      throw error;
    }
    const updated = await this.store.updateDevice(userId, device.id, {
      activationChallengeId: prompt.challengeId ?? null,
      updatedAt: now,
      ...(existing && nickname !== null ? { nickname } : {}),
    });
    if (!updated) throw new NotFoundError('No such authentication method.', 'device');
    return { device: await this.view(updated), challenge: publicChallenge(updated, 'pairing', prompt) };
  }

  /**
   * What the owner must be shown to finish pairing a device that waits for
   * activation (an app's secret and QR code), for a page shown again; none
   * for a method that sends a code instead.
   */
  async pairing(userId: string, deviceId: string, account: string, context: RequestContext = {}): Promise<Record<string, unknown> | undefined> {
    const device = await this.pendingActivation(userId, deviceId);
    return this.showPairing(this.methods.of(device), device, account, context);
  }

  /** What the method shows to pair the device; a ceremony it begins is the one the activation answers. */
  private async showPairing(method: AuthenticationMethod, device: DeviceRecord, account: string, context: RequestContext): Promise<Record<string, unknown> | undefined> {
    const pairing = await method.pairing?.(device, account, context);
    if (pairing?.challengeId !== undefined) {
      await this.store.updateDevice(device.userId, device.id, { activationChallengeId: pairing.challengeId, updatedAt: this.now() });
    }
    return pairing?.show;
  }

  /**
   * Adds a device that is ACTIVE at once, without a pairing answer: for an
   * admin who has checked the address another way, as PingOne allows. Only a
   * method whose devices have a key (an address) can be added so.
   */
  async createActive(userId: string, input: CreateDeviceInput, context: RequestContext = {}): Promise<Device> {
    const method = this.methods.pairable(input.type);
    if (!method.key) throw new ValidationError(`A ${method.type} device is paired by its owner: it cannot be added as ACTIVE.`, 'status');
    const nickname = parseNickname(input.nickname);
    const id = newId();
    const data = method.newDevice(input as Record<string, unknown>, { userId, deviceId: id, account: input.account ?? userId });
    const key = method.key(data);
    const now = this.now();
    if ((await this.store.listDevices(userId)).some((d) => d.type === method.type && method.key!(d.data) === key)) throw new DeviceExistsError();
    await this.stamps.renew(userId);
    // Last in the user's order: the default only when the user has no other active method.
    const device = await this.store.insertDevice({
      id,
      userId,
      type: method.type,
      data,
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

  /** Sends a new pairing code to a device waiting for activation; a method that sends nothing has none. */
  async resend(userId: string, deviceId: string, context: RequestContext = {}): Promise<Challenge> {
    const device = await this.pendingActivation(userId, deviceId);
    const method = this.methods.of(device);
    if (!method.sends) throw new ValidationError('This method sends no codes: enter the code your app shows.', 'deviceId');
    if (device.activationChallengeId && method.resend) {
      const resent = await method.resend(device, device.activationChallengeId, context).catch((error: unknown) => {
        // The pairing challenge expired and is gone: a new one is sent instead.
        if (error instanceof NotFoundError) return undefined;
        throw error;
      });
      if (resent) return publicChallenge(device, 'pairing', resent);
    }
    const prompt = await method.prompt(device, 'pairing', context);
    await this.store.updateDevice(userId, deviceId, { activationChallengeId: prompt.challengeId ?? null, updatedAt: this.now() });
    return publicChallenge(device, 'pairing', prompt);
  }

  /** Checks the pairing answer and makes the device ACTIVE (and the default when there is none). */
  async activate(userId: string, deviceId: string, otp: unknown, context: RequestContext = {}): Promise<Device> {
    const device = await this.pendingActivation(userId, deviceId);
    const method = this.methods.of(device);
    if (method.sends && !device.activationChallengeId) throw new OtpError('OTP_EXPIRED', 'This code has expired or was already used. Send a new code.');
    const answered = await method.answer(device, { challengeId: device.activationChallengeId ?? undefined }, otp, 'pairing', context);
    await this.stamps.renew(userId);
    const now = this.now();
    const activated = await this.store.updateDevice(userId, deviceId, {
      status: 'ACTIVE',
      activatedAt: now,
      activationChallengeId: null,
      updatedAt: now,
      ...(device.nickname === null && answered?.nickname ? { nickname: answered.nickname } : {}),
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
    return after.map((d) => this.toDevice(d, after));
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
    return after.map((d) => this.toDevice(d, after));
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
    if (removed.status === 'ACTIVE') await this.notify(userId, 'device-removed', removed, null, context, removed);
  }

  /** The device as the app sees it: whether it is the default depends on the user's other devices. */
  private async view(record: DeviceRecord): Promise<Device> {
    return this.toDevice(record, await this.store.listDevices(record.userId));
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

  /** Tells the user (and `removed`, the device just removed, when it carries messages) that a method was added or removed. */
  private async notify(
    userId: string,
    kind: 'device-added' | 'device-removed',
    changed: DeviceRecord,
    exceptId: string | null,
    context: RequestContext,
    removed?: DeviceRecord,
  ): Promise<void> {
    // `address` names the device (its label, else its nickname); a template names the method when there is neither.
    const data = { address: this.methods.describe(changed).label || changed.nickname, method: changed.type, nickname: changed.nickname, at: new Date(this.now()) };
    await this.notices.send(userId, kind, data, context.locale, { exceptId, removed });
  }

  private async drop(userId: string, device: DeviceRecord, context: RequestContext): Promise<void> {
    const removed = await this.store.deleteDevice(userId, device.id);
    if (!removed) return;
    await this.store.deleteDeviceChallenges(userId, device.id);
    this.events.publish('device.removed', userId, context, { deviceId: device.id });
  }

  /** `all`: the user's devices in their order, in which the first active one is the default. */
  private toDevice(record: DeviceRecord, all: DeviceRecord[]): Device {
    const shown = this.methods.describe(record);
    const active = (d: DeviceRecord) => d.status === 'ACTIVE' && this.methods.get(d.type) !== undefined;
    return {
      id: record.id,
      userId: record.userId,
      type: record.type,
      label: shown.label,
      maskedLabel: shown.masked,
      details: shown.fields,
      nickname: record.nickname,
      status: record.status,
      default: active(record) && all.find(active)?.id === record.id,
      createdAt: new Date(record.createdAt),
      updatedAt: new Date(record.updatedAt),
      activatedAt: record.activatedAt === null ? null : new Date(record.activatedAt),
    };
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
