/**
 * Text messages and voice calls through the JSON API, every response checked
 * against the served OpenAPI document (where sms and voice are on here): a
 * number added the national way comes back in E.164 as `phone`, the code
 * sent by the recording `send` activates it, and a sign-on by it completes;
 * a bad number and the same number twice are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpSink } from '../helpers/smtp.js';
import type { TestApp } from '../helpers/app.js';
import type { PhoneMessage } from '../../src/index.js';
import { call, expectError, openApiDocument } from './openapi.js';
import { appWith, freshUser } from './support.js';

let sink: SmtpSink;
let t: TestApp;
const sent: PhoneMessage[] = [];
beforeAll(async () => {
  sink = await SmtpSink.start();
  const send = async (message: PhoneMessage) => {
    sent.push(message);
  };
  t = appWith(sink, { methods: { sms: { send, defaultCountry: 'FR' }, voice: { send } } });
});
afterAll(async () => {
  await sink.close();
});

describe('a phone through the API', () => {
  it('is added the national way, answered 201 with phone in E.164, and activated by the code sent', async () => {
    const { a, u } = await freshUser(t, sink, 'sms');
    const created = await call(a, 'post', '/devices', {}, { type: 'sms', phone: '06 12 34 56 78', nickname: 'Mobile' });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ type: 'sms', status: 'ACTIVATION_REQUIRED', phone: '+33612345678', nickname: 'Mobile' });
    const message = sent.at(-1)!;
    expect(message).toMatchObject({ to: '+33612345678', purpose: 'pairing', channel: 'sms' });
    const activated = await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: message.code });
    expect(activated.status, activated.text).toBe(200);
    expect(activated.body).toMatchObject({ status: 'ACTIVE', phone: '+33612345678' });

    const started = await call(a, 'post', '/authentications', {}, { deviceId: created.body.id });
    expect(started.status, started.text).toBe(201);
    expect(started.body).toMatchObject({ status: 'OTP_REQUIRED', device: { id: created.body.id, type: 'sms', sentTo: '+33 •• •• •• 78' } });
    expect(started.text).not.toContain('612345678');
    const code = sent.at(-1)!;
    expect(code).toMatchObject({ to: '+33612345678', purpose: 'stepup', channel: 'sms' });
    const done = await call(a, 'post', '/authentications/{id}/otp', { id: started.body.id }, { otp: code.code });
    expect(done.status, done.text).toBe(200);
    expect(done.body.status).toBe('COMPLETED');
    expect(t.events.filter((e) => e.userId === u.id && e.type === 'mfa.succeeded').at(-1)).toMatchObject({ deviceId: created.body.id });
  });

  it('a voice number needs its country code without a default country', async () => {
    const { a } = await freshUser(t, sink, 'voice');
    expectError(await call(a, 'post', '/devices', {}, { type: 'voice', phone: '01 23 45 67 89' }), 400, 'VALIDATION_FAILED', { field: 'phone' });
    const created = await call(a, 'post', '/devices', {}, { type: 'voice', phone: '+33 1 23 45 67 89' });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ type: 'voice', phone: '+33123456789' });
    expect(sent.at(-1)!.text).toMatch(/is \d(, \d){5}\. Again: \d(, \d){5}\.$/);
  });

  it('refuses a bad number (VALIDATION_FAILED, field phone) and the same number twice (DEVICE_EXISTS)', async () => {
    const { a } = await freshUser(t, sink, 'sms');
    const before = sent.length;
    for (const phone of ['12', 'not a number', '+33 6 12']) {
      const res = await call(a, 'post', '/devices', {}, { type: 'sms', phone });
      expectError(res, 400, 'VALIDATION_FAILED', { field: 'phone' });
      expect(res.body.message).toBe('Enter a phone number with its country code, such as +33 6 12 34 56 78.');
    }
    expect(sent.length).toBe(before);
    const created = await call(a, 'post', '/devices', {}, { type: 'sms', phone: '+33 6 11 22 33 44' });
    expect(created.status, created.text).toBe(201);
    const activated = await call(a, 'post', '/devices/{id}/activate', { id: created.body.id }, { otp: sent.at(-1)!.code });
    expect(activated.status).toBe(200);
    // Typed another way, the same number.
    expectError(await call(a, 'post', '/devices', {}, { type: 'sms', phone: '06 11 22 33 44' }), 409, 'DEVICE_EXISTS');
    const list = await call(a, 'get', '/devices');
    expect((list.body._embedded.devices as Array<{ type: string }>).filter((d) => d.type === 'sms')).toHaveLength(1);
  });

  it('documents phone in the devices of the served document', async () => {
    const { a } = await freshUser(t, sink, 'doc');
    const text = JSON.stringify(await openApiDocument(a));
    expect(text).toContain('"phone"');
    expect(text).toContain('^\\\\+[1-9][0-9]{6,14}$');
  });
});
