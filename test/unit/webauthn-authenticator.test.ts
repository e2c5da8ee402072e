import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type WebAuthnCredential,
} from '@simplewebauthn/server';
import { decodeAttestationObject, isoCBOR, parseAuthenticatorData } from '@simplewebauthn/server/helpers';
import { describe, expect, it } from 'vitest';
import { cborEncode, SoftAuthenticator, type CborValue } from '../helpers/webauthn.js';

const RP_ID = '127.0.0.1';
const ORIGIN = 'http://127.0.0.1:1234';
const AAGUID = 'adce0002-35bc-c60a-648b-0b25f1f05503';

async function registrationOptions(extra: Partial<Parameters<typeof generateRegistrationOptions>[0]> = {}): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return generateRegistrationOptions({ rpName: 'Example', rpID: RP_ID, userName: 'alice@example.com', attestationType: 'none', ...extra });
}

/** Registers a credential and returns what the server would store. */
async function enrol(authenticator: SoftAuthenticator): Promise<{ credential: WebAuthnCredential; userId: string }> {
  const options = await registrationOptions();
  const result = await verifyRegistrationResponse({
    response: authenticator.register(options, ORIGIN),
    expectedChallenge: options.challenge,
    expectedOrigin: ORIGIN,
    expectedRPID: RP_ID,
  });
  if (!result.verified) throw new Error('registration did not verify');
  return { credential: result.registrationInfo.credential, userId: options.user.id };
}

async function signIn(authenticator: SoftAuthenticator, credential: WebAuthnCredential, tamper?: (response: AuthenticationResponseJSON) => void) {
  const options = await generateAuthenticationOptions({ rpID: RP_ID, allowCredentials: [{ id: credential.id }] });
  const response = authenticator.authenticate(options, ORIGIN);
  tamper?.(response);
  return verifyAuthenticationResponse({ response, expectedChallenge: options.challenge, expectedOrigin: ORIGIN, expectedRPID: RP_ID, credential });
}

describe('cborEncode', () => {
  // RFC 8949 Appendix A.
  it.each<[CborValue, string]>([
    [0, '00'],
    [23, '17'],
    [24, '1818'],
    [100, '1864'],
    [1000, '1903e8'],
    [1000000, '1a000f4240'],
    [1000000000000, '1b000000e8d4a51000'],
    [-1, '20'],
    [-10, '29'],
    [-100, '3863'],
    [-1000, '3903e7'],
    [false, 'f4'],
    [true, 'f5'],
    [null, 'f6'],
    [new Uint8Array([]), '40'],
    [new Uint8Array([1, 2, 3, 4]), '4401020304'],
    ['', '60'],
    ['a', '6161'],
    ['IETF', '6449455446'],
    ['\u00fc', '62c3bc'],
    [[1, [2, 3], [4, 5]], '8301820203820405'],
    [{}, 'a0'],
    [new Map([[1, 2], [3, 4]]), 'a201020304'],
    [{ a: 1, b: [2, 3] }, 'a26161016162820203'],
  ])('encodes %o as %s', (value, hex) => {
    expect(cborEncode(value).toString('hex')).toBe(hex);
  });

  it('round-trips a COSE-shaped map through the server library decoder', () => {
    const encoded = cborEncode(new Map<number, CborValue>([[1, 2], [3, -7], [-1, 1], [-2, new Uint8Array(32).fill(0xab)]]));
    const decoded = isoCBOR.decodeFirst<Map<number, unknown>>(new Uint8Array(encoded));
    expect(decoded.get(1)).toBe(2);
    expect(decoded.get(3)).toBe(-7);
    expect(decoded.get(-1)).toBe(1);
    expect(Buffer.from(decoded.get(-2) as Uint8Array).equals(Buffer.alloc(32, 0xab))).toBe(true);
  });
});

describe('SoftAuthenticator registration', () => {
  it('gives a response that verifies, with the aaguid and user verification it was made with', async () => {
    const authenticator = new SoftAuthenticator({ aaguid: AAGUID });
    const options = await registrationOptions();
    const response = authenticator.register(options, ORIGIN);

    expect(response.id).toBe(response.rawId);
    expect(authenticator.credentialIds).toEqual([response.id]);
    const idLength = Buffer.from(response.id, 'base64url').length;
    expect(idLength).toBeGreaterThanOrEqual(16);
    expect(idLength).toBeLessThanOrEqual(32);
    expect(response.type).toBe('public-key');
    expect(response.authenticatorAttachment).toBe('platform');
    expect(response.response.transports).toEqual(['internal']);
    expect(JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8'))).toEqual({
      type: 'webauthn.create',
      challenge: options.challenge,
      origin: ORIGIN,
      crossOrigin: false,
    });

    const result = await verifyRegistrationResponse({ response, expectedChallenge: options.challenge, expectedOrigin: ORIGIN, expectedRPID: RP_ID });
    expect(result.verified).toBe(true);
    const info = result.registrationInfo!;
    expect(info.fmt).toBe('none');
    expect(info.credential.id).toBe(response.id);
    expect(info.credential.counter).toBe(0);
    expect(info.aaguid).toBe(AAGUID);
    expect(info.userVerified).toBe(true);
    expect(info.credentialDeviceType).toBe('singleDevice');
    expect(info.credentialBackedUp).toBe(false);
    expect(info.origin).toBe(ORIGIN);
    expect(info.rpID).toBe(RP_ID);
  });

  it('writes the attestation object and COSE key the spec describes', async () => {
    const authenticator = new SoftAuthenticator();
    const options = await registrationOptions();
    const response = authenticator.register(options, ORIGIN);

    const attestation = decodeAttestationObject(Buffer.from(response.response.attestationObject, 'base64url'));
    expect(attestation.get('fmt')).toBe('none');
    expect(attestation.get('attStmt').size).toBe(0);
    const authData = attestation.get('authData');
    expect(Buffer.from(authData).equals(Buffer.from(response.response.authenticatorData!, 'base64url'))).toBe(true);

    const parsed = parseAuthenticatorData(authData);
    expect(Buffer.from(parsed.rpIdHash).toString('hex')).toBe(Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(RP_ID))).toString('hex'));
    expect(parsed.flagsBuf[0]).toBe(0x01 | 0x04 | 0x40);
    expect(parsed.counter).toBe(0);
    expect(Buffer.from(parsed.aaguid!).equals(Buffer.alloc(16))).toBe(true);
    expect(Buffer.from(parsed.credentialID!).toString('base64url')).toBe(response.id);

    const coseKey = isoCBOR.decodeFirst<Map<number, unknown>>(parsed.credentialPublicKey!);
    expect([...coseKey.keys()]).toEqual([1, 3, -1, -2, -3]);
    expect(coseKey.get(1)).toBe(2);
    expect(coseKey.get(3)).toBe(-7);
    expect(coseKey.get(-1)).toBe(1);
    expect((coseKey.get(-2) as Uint8Array).length).toBe(32);
    expect((coseKey.get(-3) as Uint8Array).length).toBe(32);
    expect(response.response.publicKeyAlgorithm).toBe(-7);
  });

  it('reports no user verification when made without it (and the default check then fails)', async () => {
    const authenticator = new SoftAuthenticator({ userVerified: false });
    const options = await registrationOptions();
    const response = authenticator.register(options, ORIGIN);
    const base = { response, expectedChallenge: options.challenge, expectedOrigin: ORIGIN, expectedRPID: RP_ID };

    const result = await verifyRegistrationResponse({ ...base, requireUserVerification: false });
    expect(result.verified).toBe(true);
    expect(result.registrationInfo!.userVerified).toBe(false);
    await expect(verifyRegistrationResponse(base)).rejects.toThrow(/user could not be verified/i);
  });

  it('reports a synced passkey with backedUp', async () => {
    const authenticator = new SoftAuthenticator({ backedUp: true });
    const options = await registrationOptions();
    const result = await verifyRegistrationResponse({
      response: authenticator.register(options, ORIGIN),
      expectedChallenge: options.challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: RP_ID,
    });
    expect(result.registrationInfo!.credentialDeviceType).toBe('multiDevice');
    expect(result.registrationInfo!.credentialBackedUp).toBe(true);
  });

  it('fails verification for a wrong origin or a wrong challenge', async () => {
    const authenticator = new SoftAuthenticator();
    const options = await registrationOptions();
    const response = authenticator.register(options, ORIGIN);
    await expect(
      verifyRegistrationResponse({ response, expectedChallenge: options.challenge, expectedOrigin: 'http://127.0.0.1:9999', expectedRPID: RP_ID }),
    ).rejects.toThrow(/origin/i);
    const other = await registrationOptions();
    await expect(
      verifyRegistrationResponse({ response, expectedChallenge: other.challenge, expectedOrigin: ORIGIN, expectedRPID: RP_ID }),
    ).rejects.toThrow(/challenge/i);
    await expect(
      verifyRegistrationResponse({ response, expectedChallenge: options.challenge, expectedOrigin: ORIGIN, expectedRPID: 'example.com' }),
    ).rejects.toThrow(/RP ID/i);
  });

  it('refuses, as a browser does, when excludeCredentials names a credential it holds', async () => {
    const authenticator = new SoftAuthenticator();
    const { credential } = await enrol(authenticator);
    const options = await registrationOptions({ excludeCredentials: [{ id: credential.id }] });
    expect(() => authenticator.register(options, ORIGIN)).toThrow(/excluded/);
    // Another authenticator may register.
    expect(() => new SoftAuthenticator().register(options, ORIGIN)).not.toThrow();
  });

  it('refuses options that do not offer ES256', async () => {
    const options = await registrationOptions({ supportedAlgorithmIDs: [-257] });
    expect(() => new SoftAuthenticator().register(options, ORIGIN)).toThrow(/not supported/);
  });
});

describe('SoftAuthenticator authentication', () => {
  it('gives assertions that verify with the stored public key, the counter moving by one each time', async () => {
    const authenticator = new SoftAuthenticator();
    const { credential, userId } = await enrol(authenticator);

    const options = await generateAuthenticationOptions({ rpID: RP_ID, allowCredentials: [{ id: credential.id }] });
    const response = authenticator.authenticate(options, ORIGIN);
    expect(response.id).toBe(credential.id);
    expect(response.rawId).toBe(credential.id);
    expect(response.response.userHandle).toBe(userId);
    expect(JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8'))).toEqual({
      type: 'webauthn.get',
      challenge: options.challenge,
      origin: ORIGIN,
      crossOrigin: false,
    });

    const first = await verifyAuthenticationResponse({ response, expectedChallenge: options.challenge, expectedOrigin: ORIGIN, expectedRPID: RP_ID, credential });
    expect(first.verified).toBe(true);
    expect(first.authenticationInfo.credentialID).toBe(credential.id);
    expect(first.authenticationInfo.newCounter).toBe(1);
    expect(first.authenticationInfo.userVerified).toBe(true);

    const second = await signIn(authenticator, { ...credential, counter: first.authenticationInfo.newCounter });
    expect(second.verified).toBe(true);
    expect(second.authenticationInfo.newCounter).toBe(2);
  });

  it('moves the counter by counterStep', async () => {
    const authenticator = new SoftAuthenticator({ counterStep: 5 });
    const { credential } = await enrol(authenticator);
    const first = await signIn(authenticator, credential);
    expect(first.authenticationInfo.newCounter).toBe(5);
    const second = await signIn(authenticator, { ...credential, counter: 5 });
    expect(second.authenticationInfo.newCounter).toBe(10);
  });

  it('with counterStep 0 (a passkey that keeps no counter) reports 0 every time, which verifies against a stored 0', async () => {
    const authenticator = new SoftAuthenticator({ counterStep: 0 });
    const { credential } = await enrol(authenticator);
    expect(credential.counter).toBe(0);
    for (let i = 0; i < 2; i++) {
      const result = await signIn(authenticator, credential);
      expect(result.verified).toBe(true);
      expect(result.authenticationInfo.newCounter).toBe(0);
    }
  });

  it('lets a test wind the counter back, which the server rejects as a cloned authenticator', async () => {
    const authenticator = new SoftAuthenticator();
    const { credential } = await enrol(authenticator);
    const result = await signIn(authenticator, credential);
    expect(result.authenticationInfo.newCounter).toBe(1);
    authenticator.setCounter(credential.id, 9);
    expect((await signIn(authenticator, { ...credential, counter: 1 })).authenticationInfo.newCounter).toBe(10);
    authenticator.setCounter(credential.id, 2); // the next assertion says 3, below the stored 10
    await expect(signIn(authenticator, { ...credential, counter: 10 })).rejects.toThrow(/counter/i);
    expect(() => authenticator.setCounter('AAAA', 1)).toThrow(/no credential/);
  });

  it('reports no user verification when made without it', async () => {
    const authenticator = new SoftAuthenticator({ userVerified: false });
    const options = await registrationOptions();
    const registration = await verifyRegistrationResponse({
      response: authenticator.register(options, ORIGIN),
      expectedChallenge: options.challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: RP_ID,
      requireUserVerification: false,
    });
    const credential = registration.registrationInfo!.credential;
    const request = await generateAuthenticationOptions({ rpID: RP_ID, allowCredentials: [{ id: credential.id }] });
    const response = authenticator.authenticate(request, ORIGIN);
    const base = { response, expectedChallenge: request.challenge, expectedOrigin: ORIGIN, expectedRPID: RP_ID, credential };
    const result = await verifyAuthenticationResponse({ ...base, requireUserVerification: false });
    expect(result.verified).toBe(true);
    expect(result.authenticationInfo.userVerified).toBe(false);
    await expect(verifyAuthenticationResponse(base)).rejects.toThrow(/user could not be verified/i);
  });

  it('fails verification for a wrong origin, a wrong challenge or a wrong RP ID', async () => {
    const authenticator = new SoftAuthenticator();
    const { credential } = await enrol(authenticator);
    const options = await generateAuthenticationOptions({ rpID: RP_ID, allowCredentials: [{ id: credential.id }] });
    const response = authenticator.authenticate(options, ORIGIN);
    const base = { response, expectedChallenge: options.challenge, expectedOrigin: ORIGIN, expectedRPID: RP_ID, credential };

    await expect(verifyAuthenticationResponse({ ...base, expectedOrigin: 'http://127.0.0.1:9999' })).rejects.toThrow(/origin/i);
    const other = await generateAuthenticationOptions({ rpID: RP_ID });
    await expect(verifyAuthenticationResponse({ ...base, expectedChallenge: other.challenge })).rejects.toThrow(/challenge/i);
    await expect(verifyAuthenticationResponse({ ...base, expectedRPID: 'example.com' })).rejects.toThrow(/RP ID/i);
    // The untouched response does verify.
    expect((await verifyAuthenticationResponse(base)).verified).toBe(true);
  });

  it('fails verification for a tampered signature, tampered authenticator data, or another credential’s key', async () => {
    const authenticator = new SoftAuthenticator();
    const { credential } = await enrol(authenticator);

    const flipLastByte = (b64: string): string => {
      const bytes = Buffer.from(b64, 'base64url');
      bytes[bytes.length - 1]! ^= 0x01; // stays valid DER: the last byte of s
      return bytes.toString('base64url');
    };
    const badSignature = await signIn(authenticator, credential, (response) => {
      response.response.signature = flipLastByte(response.response.signature);
    });
    expect(badSignature.verified).toBe(false);

    const badAuthData = await signIn(authenticator, credential, (response) => {
      response.response.authenticatorData = flipLastByte(response.response.authenticatorData); // the counter's low byte
    });
    expect(badAuthData.verified).toBe(false);

    const { credential: otherCredential } = await enrol(new SoftAuthenticator());
    const wrongKey = await signIn(authenticator, { ...credential, publicKey: otherCredential.publicKey });
    expect(wrongKey.verified).toBe(false);
  });

  it('throws when it holds none of the allowed credentials, or none for the RP', async () => {
    const holder = new SoftAuthenticator();
    const { credential } = await enrol(holder);
    const stranger = new SoftAuthenticator();
    expect(stranger.credentialIds).toEqual([]);

    const options = await generateAuthenticationOptions({ rpID: RP_ID, allowCredentials: [{ id: credential.id }] });
    expect(() => stranger.authenticate(options, ORIGIN)).toThrow(/no credential/);
    await enrol(stranger);
    expect(() => stranger.authenticate(options, ORIGIN)).toThrow(/no credential/);

    const otherRp = await generateAuthenticationOptions({ rpID: 'example.com', allowCredentials: [{ id: credential.id }] });
    expect(() => holder.authenticate(otherRp, 'https://example.com')).toThrow(/no credential/);
  });

  it('answers a discoverable-credential request (no allowCredentials) with its newest credential for the RP', async () => {
    const authenticator = new SoftAuthenticator();
    await enrol(authenticator);
    const { credential, userId } = await enrol(authenticator);
    expect(authenticator.credentialIds).toHaveLength(2);

    const options = await generateAuthenticationOptions({ rpID: RP_ID });
    const response = authenticator.authenticate(options, ORIGIN);
    expect(response.id).toBe(credential.id);
    expect(response.response.userHandle).toBe(userId);
    const result = await verifyAuthenticationResponse({ response, expectedChallenge: options.challenge, expectedOrigin: ORIGIN, expectedRPID: RP_ID, credential });
    expect(result.verified).toBe(true);

    await expect(async () => new SoftAuthenticator().authenticate(options, ORIGIN)).rejects.toThrow(/no credential/);
  });
});
