import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agent, type TestApp } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import { call, callUndocumented, expectError } from './openapi.js';
import { addressOf, appWith, deviceIdOf, freshUser, mailsSince, rootSignedOn } from './support.js';

let sink: SmtpSink;
let t: TestApp;
beforeAll(async () => {
  sink = await SmtpSink.start();
  t = appWith(sink, { admin: (req) => req.user?.admin === true });
});
afterAll(async () => {
  await sink.close();
});

const EVIL = 'https://evil.example';
const FORM = 'application/x-www-form-urlencoded';

describe('writes need Content-Type: application/json (a cross-site form cannot send it)', () => {
  it.each([
    ['a form post', FORM, 'type=email&email=eve%40example.test'],
    ['a form post from another site', FORM, 'type=email&email=eve%40example.test', { Origin: EVIL, 'Sec-Fetch-Site': 'cross-site' }],
    ['a text/plain form post', 'text/plain', '{"type":"email","email":"eve@example.test"}'],
    ['a multipart form post', 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\neve@example.test\r\n--x--\r\n'],
  ])('refuses %s with 415 UNSUPPORTED_MEDIA_TYPE; nothing is added or sent', async (_name, type, text, headers: Record<string, string> = {}) => {
    const { a } = await freshUser(t, sink);
    const after = sink.count();
    const res = await call(a, 'post', '/devices', {}, undefined, { raw: { type, text }, headers });
    expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(mailsSince(sink, after)).toEqual([]);
    expect((await call(a, 'get', '/devices')).body.count).toBe(1);
  });

  it('refuses a form post on every write route', async () => {
    const { a, u, email } = await freshUser(t, sink);
    const id = await deviceIdOf(a, email);
    const raw = { type: FORM, text: 'otp=123456&nickname=x' };
    const after = sink.count();
    expectError(await call(a, 'patch', '/devices/{id}', { id }, undefined, { raw }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await call(a, 'post', '/devices/{id}/activate', { id }, undefined, { raw }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await call(a, 'post', '/devices/{id}/resend', { id }, undefined, { raw }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await call(a, 'post', '/authentications', {}, undefined, { raw }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await call(a, 'post', '/authentications/{id}/otp', { id: 'x' }, undefined, { raw }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const root = await rootSignedOn(t);
    expectError(await call(root, 'post', '/users/{userId}/unlock', { userId: u.id }, undefined, { raw }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await call(root, 'patch', '/users/{userId}/devices/{id}', { userId: u.id, id }, undefined, { raw: { type: FORM, text: 'status=BLOCKED' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(mailsSince(sink, after)).toEqual([]);
    expect((await call(a, 'get', '/devices/{id}', { id })).body).toMatchObject({ status: 'ACTIVE', nickname: null });
  });

  it('refuses it before it says whether the visitor is signed on', async () => {
    const stranger = agent(t.app);
    expectError(await call(stranger, 'post', '/devices', {}, undefined, { raw: { type: FORM, text: 'email=eve%40example.test' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('accepts application/json with a charset', async () => {
    const { a, u } = await freshUser(t, sink);
    const email = addressOf(u, 'work');
    const after = sink.count();
    const res = await call(a, 'post', '/devices', {}, undefined, { raw: { type: 'application/json; charset=utf-8', text: JSON.stringify({ email }) } });
    expect(res.status).toBe(201);
    await sink.next(email, { after });
  });
});

describe('writes need a same-origin Origin, or none', () => {
  it('refuses a write whose Origin is another site with 403 FORBIDDEN; nothing changes', async () => {
    const { a, u, email } = await freshUser(t, sink);
    const id = await deviceIdOf(a, email);
    const headers = { Origin: EVIL };
    const after = sink.count();
    expectError(await call(a, 'post', '/devices', {}, { email: addressOf(u, 'evil') }, { headers }), 403, 'FORBIDDEN');
    expectError(await call(a, 'patch', '/devices/{id}', { id }, { nickname: 'pwned' }, { headers }), 403, 'FORBIDDEN');
    expectError(await call(a, 'delete', '/devices/{id}', { id }, undefined, { headers }), 403, 'FORBIDDEN');
    expectError(await call(a, 'post', '/authentications', {}, {}, { headers }), 403, 'FORBIDDEN');
    expect(mailsSince(sink, after)).toEqual([]);
    const list = await call(a, 'get', '/devices');
    expect(list.body.count).toBe(1);
    expect(list.body._embedded.devices[0]).toMatchObject({ id, nickname: null });
  });

  it.each([
    ['another site', EVIL],
    ['the same host on another port', 'http://mfa.test:8080'],
    ['https for an http site', 'https://mfa.test'],
    ['a sibling subdomain', 'http://evil.mfa.test'],
    ['an opaque origin', 'null'],
  ])('refuses an Origin of %s', async (_name, origin) => {
    const { a, u } = await freshUser(t, sink);
    const res = await call(a, 'post', '/devices', {}, { email: addressOf(u, 'x') }, { headers: { Host: 'mfa.test', Origin: origin } });
    expectError(res, 403, 'FORBIDDEN');
  });

  it('accepts the site\'s own Origin, and no Origin at all (a client that is not a browser)', async () => {
    const { a, u } = await freshUser(t, sink);
    const own = addressOf(u, 'own');
    let after = sink.count();
    const res = await call(a, 'post', '/devices', {}, { email: own }, { headers: { Host: 'mfa.test', Origin: 'http://mfa.test' } });
    expect(res.status).toBe(201);
    await sink.next(own, { after });
    const none = addressOf(u, 'none');
    after = sink.count();
    expect((await call(a, 'post', '/devices', {}, { email: none })).status).toBe(201);
    await sink.next(none, { after });
  });

  it.each([
    ['cross-site', 403],
    ['same-site', 403],
    ['same-origin', 201],
    ['none', 201],
  ])('Sec-Fetch-Site: %s → %i', async (site, status) => {
    const { a, u } = await freshUser(t, sink);
    const email = addressOf(u, 'site');
    const after = sink.count();
    const res = await call(a, 'post', '/devices', {}, { email }, { headers: { 'Sec-Fetch-Site': site } });
    if (status === 403) {
      expectError(res, 403, 'FORBIDDEN');
      expect(mailsSince(sink, after)).toEqual([]);
    } else {
      expect(res.status).toBe(201);
      await sink.next(email, { after });
    }
  });

  it('refuses Sec-Fetch-Site: cross-site even with a same-origin Origin, and on admin routes', async () => {
    const { a, u, email } = await freshUser(t, sink);
    const headers = { 'Sec-Fetch-Site': 'cross-site', Host: 'mfa.test', Origin: 'http://mfa.test' };
    expectError(await call(a, 'post', '/devices', {}, { email: addressOf(u, 'x') }, { headers }), 403, 'FORBIDDEN');
    const root = await rootSignedOn(t);
    const id = await deviceIdOf(a, email);
    expectError(await call(root, 'patch', '/users/{userId}/devices/{id}', { userId: u.id, id }, { status: 'BLOCKED' }, { headers: { Origin: EVIL } }), 403, 'FORBIDDEN');
    expectError(await call(root, 'delete', '/users/{userId}/devices', { userId: u.id }, undefined, { headers: { 'Sec-Fetch-Site': 'cross-site' } }), 403, 'FORBIDDEN');
    expect((await call(a, 'get', '/devices/{id}', { id })).body.status).toBe('ACTIVE');
  });

  it('reads are answered, but never with a CORS grant to another site', async () => {
    const { a } = await freshUser(t, sink);
    const res = await call(a, 'get', '/devices', {}, undefined, { headers: { Origin: EVIL } });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });
});

describe('unknown endpoints and bodies', () => {
  it('answers 404 NOT_FOUND (JSON) for an endpoint that does not exist', async () => {
    const { a } = await freshUser(t, sink);
    for (const [method, path] of [
      ['get', '/nope'],
      ['get', '/users'],
      ['get', '/authentications'],
      ['post', '/devices/x/unknown'],
      ['delete', '/devices'],
    ] as const) {
      const res = await callUndocumented(a, method, path, method === 'post' ? {} : undefined);
      expectError(res, 404, 'NOT_FOUND');
    }
  });

  it('the document is served without a session', async () => {
    const res = await agent(t.app).get('/mfa/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(res.body.servers).toEqual([{ url: '/mfa/api' }]);
  });
});
