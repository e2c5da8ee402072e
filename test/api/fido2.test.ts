/**
 * Passkeys and security keys (FIDO2) through the JSON API, answered by a
 * software authenticator (test/helpers/webauthn.ts) that signs as a real one
 * does: registration, authentication, a replayed or stale assertion, parallel
 * assertions on one ceremony, a counter that goes backwards, another
 * credential, another session, another user.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { agent, type Agent, type TestApp } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import { SoftAuthenticator } from '../helpers/webauthn.js';
import { call, expectError } from './openapi.js';
import { appWith, fakeClock, freshUser, mailsSince } from './support.js';

// The API tests' requests reach a new port each time: the relying party is named, as in production.
const RP_ID = 'app.test';
const ORIGIN = 'https://app.test';

let sink: SmtpSink;
let t: TestApp;
beforeAll(async () => {
  sink = await SmtpSink.start();
  t = appWith(sink, { admin: (req) => req.user?.admin === true, limits: { lockAfter: 6, sendLimit: 50 }, methods: { fido2: { rpId: RP_ID, origins: [ORIGIN], rpName: 'Acme' } } });
});
afterAll(async () => {
  await sink.close();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A user signed on with email, who pairs a passkey through the API. */
async function userWithPasskey(authenticator = new SoftAuthenticator()) {
  const user = await freshUser(t, sink, 'fido');
  const created = await call(user.a, 'post', '/devices', {}, { type: 'fido2' });
  expect(created.status, created.text).toBe(201);
  const attestation = authenticator.register(created.body.publicKeyCredentialCreationOptions, ORIGIN);
  const activated = await call(user.a, 'post', '/devices/{id}/activate', { id: created.body.id }, { attestation });
  expect(activated.status, activated.text).toBe(200);
  return { ...user, authenticator, id: created.body.id as string, created };
}

async function ask(a: Agent, deviceId: string) {
  const started = await call(a, 'post', '/authentications', {}, { deviceId });
  expect(started.status, started.text).toBe(201);
  return started;
}

describe('pairing a passkey', () => {
  it('answers 201 with the creation options, then activates with the attestation, named "Passkey"', async () => {
    const { a, u, created, id } = await userWithPasskey();
    expect(created.body).toMatchObject({ type: 'fido2', status: 'ACTIVATION_REQUIRED' });
    const options = created.body.publicKeyCredentialCreationOptions;
    expect(options.rp).toEqual({ name: 'Acme', id: RP_ID });
    expect(options.user.name).toBe(u.email);
    // The user handle is not the app's user id.
    expect(Buffer.from(options.user.id, 'base64url').toString('utf8')).not.toContain(u.id);
    expect(options.attestation).toBe('none');
    expect(options.authenticatorSelection).toMatchObject({ residentKey: 'preferred', userVerification: 'preferred' });
    const device = await call(a, 'get', '/devices/{id}', { id });
    expect(device.body).toMatchObject({ type: 'fido2', status: 'ACTIVE', nickname: 'Passkey' });
    expect(device.text).not.toMatch(/publicKey|credentialId|counter/);
    // The next pairing excludes the credential the user has.
    const next = await call(a, 'post', '/devices', {}, { type: 'fido2' });
    expect(next.body.publicKeyCredentialCreationOptions.excludeCredentials.map((c: { id: string }) => c.id)).toEqual([device.body.id === id ? (await t.auth.store.getDevice(u.id, id))!.data.credentialId : '']);
  });

  it('refuses an attestation for another ceremony, from another origin, or garbled, and counts it', async () => {
    const { a } = await freshUser(t, sink, 'fido');
    const authenticator = new SoftAuthenticator();
    const one = await call(a, 'post', '/devices', {}, { type: 'fido2' });
    const evil = authenticator.register(one.body.publicKeyCredentialCreationOptions, 'https://evil.test');
    expectError(await call(a, 'post', '/devices/{id}/activate', { id: one.body.id }, { attestation: evil }), 400, 'INVALID_OTP');
    // The refused ceremony is spent: even a right attestation for it is refused now.
    const late = authenticator.register({ ...one.body.publicKeyCredentialCreationOptions, excludeCredentials: [] }, ORIGIN);
    expectError(await call(a, 'post', '/devices/{id}/activate', { id: one.body.id }, { attestation: late }), 400, 'OTP_EXPIRED');
    expectError(await call(a, 'post', '/devices/{id}/activate', { id: one.body.id }, { attestation: { id: 42 } }), 400, 'VALIDATION_FAILED', { field: 'attestation' });
  });

  it('a pairing begun in one session cannot be finished in another', async () => {
    const { a, u } = await freshUser(t, sink, 'fido');
    const created = await call(a, 'post', '/devices', {}, { type: 'fido2' });
    const attestation = new SoftAuthenticator().register(created.body.publicKeyCredentialCreationOptions, ORIGIN);
    const other = agent(t.app);
    const after = sink.count();
    await other.post('/login').type('form').send({ username: u.username, password: u.password });
    const mail = await sink.next(u.email!, { after });
    const page = (await other.get('/mfa/challenge')).text;
    await other.post('/mfa/challenge').type('form').send({ _mfa_csrf: /name="_mfa_csrf" value="([^"]+)"/.exec(page)![1], otp: /\b(\d{6})\b/.exec(mail.text)![1] });
    expectError(await call(other, 'post', '/devices/{id}/activate', { id: created.body.id }, { attestation }), 400, 'OTP_EXPIRED');
    expect((await t.auth.devices.get(u.id, created.body.id)).status).toBe('ACTIVATION_REQUIRED');
  });
});

describe('answering with a passkey', () => {
  it('ASSERTION_REQUIRED with the request options, then COMPLETED; nothing is mailed', async () => {
    const { a, u, id, authenticator } = await userWithPasskey();
    const before = sink.count();
    const started = await ask(a, id);
    expect(started.body.status).toBe('ASSERTION_REQUIRED');
    expect(started.body.device).toEqual({ id, type: 'fido2' });
    const options = started.body.publicKeyCredentialRequestOptions;
    expect(options.rpId).toBe(RP_ID);
    expect(options.allowCredentials).toHaveLength(1);
    const assertion = authenticator.authenticate(options, ORIGIN);
    const done = await call(a, 'post', '/authentications/{id}/assertion', { id: started.body.id }, { assertion });
    expect(done.status, done.text).toBe(200);
    expect(done.body).toMatchObject({ status: 'COMPLETED', device: { id, type: 'fido2' } });
    expect(mailsSince(sink, before).filter((m) => m.to.includes(u.email!))).toEqual([]);
    expect(t.events.filter((e) => e.userId === u.id && e.type === 'mfa.succeeded').at(-1)).toMatchObject({ deviceId: id });
  });

  it('a replayed assertion and a stale ceremony are refused', async () => {
    const { a, id, authenticator } = await userWithPasskey();
    const started = await ask(a, id);
    const assertion = authenticator.authenticate(started.body.publicKeyCredentialRequestOptions, ORIGIN);
    expect((await call(a, 'post', '/authentications/{id}/assertion', { id: started.body.id }, { assertion })).status).toBe(200);
    expectError(await call(a, 'post', '/authentications/{id}/assertion', { id: started.body.id }, { assertion }), 400, 'OTP_EXPIRED');

    const clock = fakeClock();
    const stale = await ask(a, id);
    const late = authenticator.authenticate(stale.body.publicKeyCredentialRequestOptions, ORIGIN);
    clock.advance(5 * 60_000 + 1000);
    expectError(await call(a, 'post', '/authentications/{id}/assertion', { id: stale.body.id }, { assertion: late }), 400, 'OTP_EXPIRED');
  });

  it('two parallel assertions on one ceremony complete once (the app\'s own code, no session in between)', async () => {
    const { u, id, authenticator } = await userWithPasskey();
    const started = await t.auth.challenges.start(u.id, { deviceId: id });
    expect(started.status).toBe('ASSERTION_REQUIRED');
    const first = authenticator.authenticate(started.options as never, ORIGIN);
    const second = authenticator.authenticate(started.options as never, ORIGIN);
    const results = await Promise.allSettled([
      t.auth.challenges.verify(u.id, started.id, JSON.stringify(first)),
      t.auth.challenges.verify(u.id, started.id, JSON.stringify(second)),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => ((r as PromiseRejectedResult).reason as { code: string }).code)).toEqual(['OTP_EXPIRED']);
  });

  it('a signature counter that goes backwards is refused as a clone, and audited', async () => {
    const { a, u, id, authenticator } = await userWithPasskey();
    const credentialId = authenticator.credentialIds[0]!;
    authenticator.setCounter(credentialId, 10);
    let started = await ask(a, id);
    expect((await call(a, 'post', '/authentications/{id}/assertion', { id: started.body.id }, { assertion: authenticator.authenticate(started.body.publicKeyCredentialRequestOptions, ORIGIN) })).status).toBe(200);
    // A copy of the key whose counter lags behind signs next.
    authenticator.setCounter(credentialId, 3);
    started = await ask(a, id);
    const cloned = await call(a, 'post', '/authentications/{id}/assertion', { id: started.body.id }, { assertion: authenticator.authenticate(started.body.publicKeyCredentialRequestOptions, ORIGIN) });
    expectError(cloned, 400, 'INVALID_OTP');
    expect(t.events.filter((e) => e.userId === u.id && e.type === 'device.cloned')).toEqual([expect.objectContaining({ deviceId: id })]);
  });

  it('an authenticator that keeps no counter (0 every time) is accepted every time', async () => {
    const { a, id, authenticator } = await userWithPasskey(new SoftAuthenticator({ counterStep: 0 }));
    for (let i = 0; i < 2; i++) {
      const started = await ask(a, id);
      expect((await call(a, 'post', '/authentications/{id}/assertion', { id: started.body.id }, { assertion: authenticator.authenticate(started.body.publicKeyCredentialRequestOptions, ORIGIN) })).status).toBe(200);
    }
  });

  it('another credential, another origin, another user: refused', async () => {
    const alice = await userWithPasskey();
    const started = await ask(alice.a, alice.id);
    const options = started.body.publicKeyCredentialRequestOptions;
    // A key of another site that signs this challenge.
    const stranger = new SoftAuthenticator();
    stranger.register({ ...(alice.created.body.publicKeyCredentialCreationOptions as object), excludeCredentials: [] } as never, ORIGIN);
    const foreign = stranger.authenticate({ ...options, allowCredentials: [{ id: stranger.credentialIds[0]!, type: 'public-key' }] }, ORIGIN);
    expectError(await call(alice.a, 'post', '/authentications/{id}/assertion', { id: started.body.id }, { assertion: foreign }), 400, 'INVALID_OTP');

    const again = await ask(alice.a, alice.id);
    const phished = alice.authenticator.authenticate(again.body.publicKeyCredentialRequestOptions, 'https://app.test.evil.test');
    expectError(await call(alice.a, 'post', '/authentications/{id}/assertion', { id: again.body.id }, { assertion: phished }), 400, 'INVALID_OTP');

    const bob = await freshUser(t, sink, 'fido');
    expectError(await call(bob.a, 'post', '/authentications', {}, { deviceId: alice.id }), 404, 'NOT_FOUND');
    const third = await ask(alice.a, alice.id);
    const assertion = alice.authenticator.authenticate(third.body.publicKeyCredentialRequestOptions, ORIGIN);
    expectError(await call(bob.a, 'post', '/authentications/{id}/assertion', { id: third.body.id }, { assertion }), 404, 'NOT_FOUND');
    expect((await call(alice.a, 'post', '/authentications/{id}/assertion', { id: third.body.id }, { assertion })).status).toBe(200);
  });

  it('an assertion signed for another RP ID is refused, even from an allowed origin', async () => {
    const { u, id, authenticator } = await userWithPasskey();
    // A second site on the same store whose RP ID is a subdomain: the key was made for app.test.
    const login = appWith(sink, { store: t.auth.store, methods: { fido2: { rpId: 'login.app.test', origins: ['https://login.app.test'] } } });
    const started = await login.auth.challenges.start(u.id, { deviceId: id });
    const assertion = authenticator.authenticate({ ...(started.options as object), rpId: RP_ID } as never, 'https://login.app.test');
    await expect(login.auth.challenges.verify(u.id, started.id, JSON.stringify(assertion))).rejects.toMatchObject({ code: 'INVALID_OTP' });
    // The same key answers its own relying party.
    const own = await t.auth.challenges.start(u.id, { deviceId: id });
    await expect(t.auth.challenges.verify(u.id, own.id, JSON.stringify(authenticator.authenticate(own.options as never, ORIGIN)))).resolves.toMatchObject({ status: 'COMPLETED' });
  });
});
