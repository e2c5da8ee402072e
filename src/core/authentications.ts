import type { AnswerTarget } from './challenge-id.js';
import type { DeviceService } from './devices.js';
import { NotFoundError, OtpError, ValidationError } from './errors.js';
import type { EventBus, RequestContext } from './events.js';
import type { Prompt } from '../methods/method.js';
import type { MethodRegistry } from '../methods/registry.js';
import type { DeviceRecord, MfaStore } from '../stores/types.js';

export type AnswerPurpose = 'signon' | 'stepup';

/** The method types a sign-on policy accepts; undefined: every method that is on. */
export type Permitted = readonly string[] | undefined;

export interface Started {
  device: DeviceRecord;
  prompt: Prompt;
}

/**
 * Asking a user for an MFA and checking the answer, for pages, the JSON API
 * and the app's own code alike: which device is prompted, that it is active
 * and permitted, what prompting it does (a code sent, or nothing for an
 * app), and which method answered.
 */
export class Authentications {
  constructor(
    private readonly store: MfaStore,
    private readonly devices: DeviceService,
    private readonly methods: MethodRegistry,
    private readonly events: EventBus,
  ) {}

  /** The user's active devices that `permitted` accepts, the default first. */
  async choices(userId: string, permitted: Permitted): Promise<DeviceRecord[]> {
    return (await this.devices.active(userId)).filter((d) => allows(permitted, d.type));
  }

  /** The device asked for, or the user's default among the permitted ones; refused unless active and permitted. */
  async pick(userId: string, deviceId: unknown, permitted: Permitted): Promise<DeviceRecord> {
    if (deviceId === undefined) {
      const device = (await this.choices(userId, permitted))[0];
      if (!device) throw new NotFoundError('You have no active authentication method. Add one under "Your authentication methods" first.', 'noDevice');
      return device;
    }
    if (typeof deviceId !== 'string') throw new NotFoundError('No such authentication method.', 'device');
    const device = await this.devices.record(userId, deviceId);
    this.usable(device, permitted);
    return device;
  }

  /** Prompts the device for `purpose`: a method that sends codes sends one now; an app needs nothing. */
  async start(device: DeviceRecord, purpose: AnswerPurpose, permitted: Permitted, context: RequestContext = {}): Promise<Prompt> {
    return this.usable(device, permitted).prompt(device, purpose, context);
  }

  /** A new code for the same challenge; the previous one stops working. */
  async resend(userId: string, target: Required<AnswerTarget>, purpose: AnswerPurpose, permitted: Permitted, context: RequestContext = {}): Promise<Prompt> {
    const device = await this.devices.record(userId, target.deviceId);
    const method = this.usable(device, permitted);
    if (!method.sends || !method.resend) throw new ValidationError('This method sends no codes: enter the code your app shows.', 'deviceId');
    if (await this.store.getChallenge(userId, target.challengeId)) return method.resend(device, target.challengeId, context);
    return method.prompt(device, purpose, context);
  }

  async cancel(userId: string, target: AnswerTarget): Promise<void> {
    if (target.challengeId !== undefined) await this.store.deleteChallenge(userId, target.challengeId);
  }

  /**
   * Checks an answer to `target` for `purpose`. The device is the one the
   * challenge was sent to (a stored challenge names it) or the one named;
   * it must be active, of a method that is on and that `permitted` accepts.
   * Resolves with the device and what it adds to `amr`; throws an MfaError.
   */
  async answer(
    userId: string,
    target: AnswerTarget,
    /** The answer by field: `otp` for a code, `assertion` for a passkey; the device's method reads its own. */
    input: Record<string, unknown>,
    purpose: AnswerPurpose,
    permitted: Permitted,
    context: RequestContext = {},
  ): Promise<{ device: DeviceRecord; amr: string[] }> {
    let deviceId = target.deviceId;
    // An id that names no device: the stored challenge does. (One that names both is checked by the method, which
    // refuses a challenge of another device, without a read of its own.) A challenge that is gone is the method's
    // business (expired, used): it says so.
    if (target.challengeId !== undefined && deviceId === undefined) deviceId = (await this.store.getChallenge(userId, target.challengeId))?.deviceId;
    // Only a stored challenge can be gone without naming its device: expired or used, as the code store says of one.
    if (deviceId === undefined) throw new OtpError('OTP_EXPIRED', 'This code has expired or was already used. Send a new code.');
    const device = await this.store.getDevice(userId, deviceId);
    if (!device || device.status !== 'ACTIVE') {
      throw new OtpError('OTP_EXPIRED', 'The method this code was sent to is no longer available. Send a code to another one.', undefined, 'device');
    }
    const method = this.usable(device, permitted);
    const answered = await method.answer(device, target, input[method.api.inputs.answer], purpose, context);
    return { device, amr: answered?.amr ?? [method.amr] };
  }

  /** Lifts the user's MFA lock (an admin helping a locked-out user). */
  async unlock(userId: string, context: RequestContext = {}): Promise<void> {
    await this.store.clearLock(userId);
    this.events.publish('user.unlocked', userId, context);
  }

  private usable(device: DeviceRecord, permitted: Permitted) {
    const method = this.methods.of(device);
    if (device.status !== 'ACTIVE' || !allows(permitted, device.type)) {
      throw new ValidationError('This method cannot receive codes right now.', 'deviceId');
    }
    return method;
  }
}

function allows(permitted: Permitted, type: string): boolean {
  return permitted === undefined || permitted.includes(type);
}
