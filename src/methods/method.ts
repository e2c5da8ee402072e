import type { RequestContext } from '../core/events.js';
import type { ChallengePurpose, DeviceRecord } from '../stores/types.js';

/**
 * What asking a device for an answer did: a code sent (a stored challenge
 * that the answer must name), or nothing at all for a device that makes its
 * own codes (an authenticator app).
 */
export interface Prompt {
  challengeId?: string;
  /** What the client needs to answer (a passkey's WebAuthn request options); none for a code. */
  options?: Record<string, unknown>;
  /** Where the code went, partly hidden. */
  sentTo?: string;
  expiresAt?: number;
}

/** The device authentication policy of one method (PingOne's names). */
export interface MethodSettings {
  /** Off: the method's devices are neither offered nor accepted, and none can be paired. */
  enabled: boolean;
  /** Devices already paired still answer; no new one can be paired. */
  pairingDisabled: boolean;
  /** Ask for a nickname when pairing. */
  nickname: boolean;
  /** Digits of the codes the method's devices answer with. */
  codeLength: number;
  /** Why a method is off when it is not the app's `enabled: false` (SMS without a `send`), for start-up messages. */
  offHint?: string;
}

/** How a device is shown. */
export interface DeviceDescription {
  /** For the device's owner, signed on: the address itself, say. */
  label: string;
  /** For a page shown before sign-on completes: enough to recognise the device, not to harvest it. */
  masked: string;
  /** The method's own fields of the device in the JSON API (`email` for an email device). */
  fields: Record<string, unknown>;
}

/** Who is pairing: the device's owner and id are known before its data is made (a secret is sealed to them). */
export interface DeviceOwner {
  userId: string;
  deviceId: string;
  /** How the user is named to the device (an authenticator app's account label). */
  account: string;
}

/** How the method's devices appear in the JSON API, for its OpenAPI document (JSON Schema). */
export interface MethodApi {
  /** The method's own fields of a device (`email`), all present in every device of the method. */
  fields: Record<string, unknown>;
  /** What adding a device takes beyond `type` and `nickname`, and which of it is required. */
  create: Record<string, unknown>;
  createRequired: string[];
  /** Fields of the 201 answer to adding a device, in that answer only (an app's `secret`). */
  created?: Record<string, unknown>;
  /** The field that carries the answer: `otp` for codes, `attestation` / `assertion` for a passkey. */
  inputs: { pairing: string; answer: string };
  /** Its JSON Schema. */
  answerSchema: { pairing: Record<string, unknown>; answer: Record<string, unknown> };
}

/** What the account's notices are about. */
export type NoticeKind = 'device-added' | 'device-removed' | 'recovery-used';

export interface NoticeChannel {
  /** Who the device reaches, one person's inbox or phone however spelt: each is told once. */
  recipient(device: DeviceRecord): string;
  send(device: DeviceRecord, kind: NoticeKind, data: Record<string, unknown>, locale?: string): Promise<void>;
}

/** What an answer tells beyond its being right. */
export interface AnswerResult {
  amr: string[];
  /** A name for a device just paired that has none (the authenticator's). */
  nickname?: string;
}

/** What the one pairing a device must be shown to finish it, and the ceremony it answers, if it has one. */
export interface Pairing {
  show: Record<string, unknown>;
  challengeId?: string;
}

/**
 * An authentication method: what its devices store, how one is paired,
 * prompted and answered, and how it is shown. The core calls these and
 * knows no method by name; a method is a folder under src/methods/ and a
 * line in the registry.
 */
export interface AuthenticationMethod {
  readonly type: string;
  /** What an answer of this method adds to the sign-on's `amr` (RFC 8176). */
  readonly amr: string;
  readonly settings: MethodSettings;
  /** Prompting sends a code (a challenge that can be resent), or the device makes its own codes. */
  readonly sends: boolean;
  /** Prompting begins a ceremony that the browser answers (a passkey): the page asks before it begins one. */
  readonly ceremony?: boolean;
  /**
   * The field of the app's user profile that pairs a device during sign-on,
   * when the method can be paired then: only a value the app vouches for (the
   * address on the account), so that a password alone pairs nothing of a
   * thief's choosing.
   */
  readonly profileField?: string;
  /** The device's data from what was given to add it; throws a ValidationError for bad input. */
  newDevice(input: Record<string, unknown>, owner: DeviceOwner): Record<string, unknown>;
  /**
   * Two devices of the method with one key are one device (an address):
   * pairing it again is DEVICE_EXISTS, or, while it waits for activation,
   * pairs that device again. Without keys, every pairing is a new device.
   */
  key?(data: Record<string, unknown>): string;
  /** What the one pairing the device must be shown to finish it (an app's secret, a passkey's creation options), while it waits for activation. */
  pairing?(device: DeviceRecord, account: string, context: RequestContext): Promise<Pairing>;
  /** Asks the device for an answer for `purpose`: sends a code, or does nothing. */
  prompt(device: DeviceRecord, purpose: ChallengePurpose, context: RequestContext): Promise<Prompt>;
  /** Sends a new code for the same challenge; methods that send nothing have no resend. */
  resend?(device: DeviceRecord, challengeId: string, context: RequestContext): Promise<Prompt>;
  /** Ends a challenge that will not be answered. */
  cancel?(userId: string, challengeId: string): Promise<void>;
  /**
   * Resolves when `input` answers the device for `purpose`, with what the
   * answer adds to `amr` when that depends on it (a passkey that verified the
   * user adds 'user'); throws an MfaError otherwise.
   */
  answer(device: DeviceRecord, prompt: Prompt, input: unknown, purpose: ChallengePurpose, context: RequestContext): Promise<AnswerResult | void>;
  describe(device: DeviceRecord): DeviceDescription;
  readonly api: MethodApi;
  /** How notices about the account reach a device of the method, when it carries messages (an address, a phone's texts). */
  readonly notice?: NoticeChannel;
}
