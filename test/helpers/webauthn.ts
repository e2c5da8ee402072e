import { createHash, generateKeyPairSync, randomBytes, randomInt, sign, type KeyObject } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

// A software WebAuthn authenticator (plus the browser's part of the ceremony),
// so that API tests can register and sign in with a passkey without a browser.
// It is written from the WebAuthn Level 3 spec with node:crypto and the small
// CBOR encoder below, not with @simplewebauthn, so that tests check the server
// library against the standard rather than against itself.
//
// Keys are EC P-256 (COSE alg -7, ES256); attestation is always 'none'.

// ---------------------------------------------------------------------------
// CBOR (RFC 8949), encoding only, and only what WebAuthn needs.

/** A value cborEncode can write. Maps keep their insertion order (write them in CTAP2 canonical order). */
export type CborValue = number | bigint | string | boolean | null | Uint8Array | CborValue[] | Map<number | string, CborValue> | { [key: string]: CborValue };

function cborHead(major: number, argument: number | bigint): Buffer {
  const value = BigInt(argument);
  if (value < 0n) throw new RangeError('CBOR argument must not be negative');
  const type = major << 5;
  if (value < 24n) return Buffer.from([type | Number(value)]);
  if (value < 0x100n) return Buffer.from([type | 24, Number(value)]);
  if (value < 0x10000n) {
    const head = Buffer.alloc(3);
    head[0] = type | 25;
    head.writeUInt16BE(Number(value), 1);
    return head;
  }
  if (value < 0x100000000n) {
    const head = Buffer.alloc(5);
    head[0] = type | 26;
    head.writeUInt32BE(Number(value), 1);
    return head;
  }
  if (value < 0x10000000000000000n) {
    const head = Buffer.alloc(9);
    head[0] = type | 27;
    head.writeBigUInt64BE(value, 1);
    return head;
  }
  throw new RangeError('CBOR argument too large');
}

/** Encodes integers (major types 0/1), byte strings (2), text strings (3), arrays (4), maps (5) and false/true/null. */
export function cborEncode(value: CborValue): Buffer {
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new TypeError(`CBOR: only integers are supported, got ${value}`);
    const int = BigInt(value);
    return int >= 0n ? cborHead(0, int) : cborHead(1, -1n - int);
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([cborHead(3, bytes.length), bytes]);
  }
  if (value === false) return Buffer.from([0xf4]);
  if (value === true) return Buffer.from([0xf5]);
  if (value === null) return Buffer.from([0xf6]);
  if (value instanceof Uint8Array) return Buffer.concat([cborHead(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([cborHead(4, value.length), ...value.map(cborEncode)]);
  const entries: [number | string, CborValue][] = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return Buffer.concat([cborHead(5, entries.length), ...entries.flatMap(([key, item]) => [cborEncode(key), cborEncode(item)])]);
}

// ---------------------------------------------------------------------------

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;
const COSE_ALG_ES256 = -7;

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();

function aaguidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new TypeError(`aaguid must be a UUID, got ${uuid}`);
  return Buffer.from(hex, 'hex');
}

export interface SoftAuthenticatorOptions {
  /** The authenticator model's AAGUID (a UUID); default all zeros, as a 'none' attestation usually reports. */
  aaguid?: string;
  /** Whether the authenticator reports user verification (UV flag); default true. */
  userVerified?: boolean;
  /** How far each authentication moves a credential's signature counter; default 1. 0 = a passkey that keeps no counter. */
  counterStep?: number;
  /** Report the credential as a synced passkey (BE and BS flags); default false (a device-bound credential). */
  backedUp?: boolean;
}

interface StoredCredential {
  id: Buffer;
  rpId: string;
  privateKey: KeyObject;
  /** user.id from the creation options (base64url), returned as userHandle. */
  userHandle: string;
  counter: number;
}

export class SoftAuthenticator {
  readonly #aaguid: Buffer;
  readonly #userVerified: boolean;
  readonly #counterStep: number;
  readonly #backedUp: boolean;
  readonly #credentials = new Map<string, StoredCredential>();

  constructor(options: SoftAuthenticatorOptions = {}) {
    this.#aaguid = aaguidBytes(options.aaguid ?? '00000000-0000-0000-0000-000000000000');
    this.#userVerified = options.userVerified ?? true;
    this.#counterStep = options.counterStep ?? 1;
    if (!Number.isInteger(this.#counterStep) || this.#counterStep < 0) throw new RangeError('counterStep must be a non-negative integer');
    this.#backedUp = options.backedUp ?? false;
  }

  /** The credential ids this authenticator holds (base64url), oldest first. */
  get credentialIds(): string[] {
    return [...this.#credentials.keys()];
  }

  /**
   * Answers navigator.credentials.create({ publicKey: options }) as @simplewebauthn/browser's
   * startRegistration would: a RegistrationResponseJSON with a 'none' attestation.
   * `origin` e.g. 'http://127.0.0.1:1234'. Like a real authenticator it refuses (throws) when
   * excludeCredentials names a credential it holds, or when pubKeyCredParams does not offer ES256.
   */
  register(options: PublicKeyCredentialCreationOptionsJSON, origin: string): RegistrationResponseJSON {
    const rpId = options.rp.id ?? new URL(origin).hostname;
    const params = options.pubKeyCredParams ?? [];
    if (params.length > 0 && !params.some((param) => param.type === 'public-key' && param.alg === COSE_ALG_ES256)) {
      throw new Error('not supported: the options do not offer ES256 (alg -7)');
    }
    for (const excluded of options.excludeCredentials ?? []) {
      if (this.#credentials.get(excluded.id)?.rpId === rpId) throw new Error(`credential excluded: ${excluded.id} is already registered`);
    }

    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    if (!jwk.x || !jwk.y) throw new Error('P-256 public key export gave no x/y');
    // COSE_Key, RFC 9053 §7.1.1, keys in CTAP2 canonical order.
    const coseKey = cborEncode(
      new Map<number, CborValue>([
        [1, 2], // kty: EC2
        [3, COSE_ALG_ES256], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x, 'base64url')],
        [-3, Buffer.from(jwk.y, 'base64url')],
      ]),
    );

    const id = randomBytes(randomInt(16, 33));
    const credential: StoredCredential = { id, rpId, privateKey, userHandle: options.user.id, counter: 0 };

    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.length);
    const authData = Buffer.concat([
      this.#authDataHeader(rpId, FLAG_AT, credential.counter),
      this.#aaguid,
      idLength,
      id,
      coseKey,
    ]);
    const clientDataJSON = JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin, crossOrigin: false });
    const attestationObject = cborEncode({ fmt: 'none', attStmt: {}, authData });

    this.#credentials.set(b64url(id), credential);
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(Buffer.from(clientDataJSON, 'utf8')),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
        // What the browser's getPublicKeyAlgorithm() / getPublicKey() / getAuthenticatorData() give.
        publicKeyAlgorithm: COSE_ALG_ES256,
        publicKey: b64url(publicKey.export({ format: 'der', type: 'spki' })),
        authenticatorData: b64url(authData),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /**
   * Answers navigator.credentials.get({ publicKey: options }) as @simplewebauthn/browser's
   * startAuthentication would. allowCredentials must name one of its credentials for the RP
   * (when it is empty — a discoverable-credential sign-in — the newest credential for the RP
   * answers); else it throws 'no credential'. Each call moves the credential's counter
   * forward by counterStep.
   */
  authenticate(options: PublicKeyCredentialRequestOptionsJSON, origin: string): AuthenticationResponseJSON {
    const rpId = options.rpId ?? new URL(origin).hostname;
    const allowed = options.allowCredentials ?? [];
    const candidates = [...this.#credentials.values()].filter(
      (credential) => credential.rpId === rpId && (allowed.length === 0 || allowed.some((descriptor) => descriptor.id === b64url(credential.id))),
    );
    const credential = candidates.at(-1);
    if (!credential) throw new Error(`no credential for ${rpId} among ${allowed.length ? allowed.map((descriptor) => descriptor.id).join(', ') : 'discoverable credentials'}`);

    credential.counter = (credential.counter + this.#counterStep) >>> 0;
    const authData = this.#authDataHeader(rpId, 0, credential.counter);
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin, crossOrigin: false }), 'utf8');
    // ECDSA over authenticatorData || SHA-256(clientDataJSON); node gives the DER form WebAuthn wants.
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey);

    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** Sets a credential's counter (to test a counter that goes backwards, i.e. a cloned authenticator). */
  setCounter(credentialId: string, counter: number): void {
    const credential = this.#credentials.get(credentialId);
    if (!credential) throw new Error(`no credential ${credentialId}`);
    if (!Number.isInteger(counter) || counter < 0 || counter > 0xffffffff) throw new RangeError('counter must be a 32-bit unsigned integer');
    credential.counter = counter;
  }

  /** rpIdHash (32) || flags (1) || signCount (4, big-endian). */
  #authDataHeader(rpId: string, extraFlags: number, counter: number): Buffer {
    let flags = FLAG_UP | extraFlags;
    if (this.#userVerified) flags |= FLAG_UV;
    if (this.#backedUp) flags |= FLAG_BE | FLAG_BS;
    const tail = Buffer.alloc(5);
    tail[0] = flags;
    tail.writeUInt32BE(counter, 1);
    return Buffer.concat([sha256(rpId), tail]);
  }
}
