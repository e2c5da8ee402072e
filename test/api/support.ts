/** Shared set-up of the JSON API tests: signed-on agents, devices paired through the API, a fake clock. */
import { expect, vi } from 'vitest';
import type { MfaOptions } from '../../src/index.js';
import { agent, createTestApp, enrollAndSignOn, login, type Agent, type TestApp, type TestUser } from '../helpers/app.js';
import { codeFrom, type ReceivedMail, type SmtpSink } from '../helpers/smtp.js';
import { call, type ApiResponse } from './openapi.js';

export const MINUTE = 60_000;
export const ALICE = 'alice@example.test';
export const BOB = 'bob@example.test';

/** Only Date is faked (sockets, SMTP and timers keep real time); starts at the real now. */
export function fakeClock(): { advance(ms: number): void } {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date());
  return {
    advance(ms: number) {
      vi.setSystemTime(Date.now() + ms);
    },
  };
}

/** A code of the right length that is not `code`. */
export function wrongCode(code: string): string {
  return code === '000000' ? '111111' : '000000';
}

export function user(t: TestApp, username: string): TestUser {
  const found = t.users.find((u) => u.username === username);
  if (!found) throw new Error(`no user ${username}`);
  return found;
}

let users = 0;

/**
 * A new user of the app (its local strategy reads t.users), so that tests can
 * share one app: a new app costs a new SMTP connection for its first mail.
 */
export function newUser(t: TestApp, prefix = 'user'): TestUser {
  users += 1;
  const name = `${prefix}${users}`;
  const created: TestUser = { id: `id-${name}`, username: name, password: `pw-${name}`, email: `${name}@example.test` };
  t.users.push(created);
  return created;
}

/** Another address of the user's own, e.g. `user7.work@example.test`. */
export function addressOf(u: TestUser, label: string): string {
  return `${u.username}.${label}@example.test`;
}

/** A user signed on in a fresh agent, after pairing the profile address during sign-on. */
export async function signedOnWithDevice(t: TestApp, sink: SmtpSink, who: string | TestUser = 'alice'): Promise<Agent> {
  const a = agent(t.app);
  const done = await enrollAndSignOn(a, sink, typeof who === 'string' ? user(t, who) : who);
  expect(done.status).toBe(303);
  return a;
}

/** A new user, signed on with their profile address paired; `cookie` is the session cookie the sign-on set. */
export async function freshUser(
  t: TestApp,
  sink: SmtpSink,
  prefix = 'user',
): Promise<{ a: Agent; u: TestUser; email: string; cookie: string }> {
  const u = newUser(t, prefix);
  const a = agent(t.app);
  const done = await enrollAndSignOn(a, sink, u);
  expect(done.status).toBe(303);
  const cookie = sessionCookie(done);
  expect(cookie, 'the sign-on sets a new session cookie').toBeDefined();
  return { a, u, email: u.email!, cookie: cookie! };
}

/** The events of one user. */
export function eventsOf(t: TestApp, userId: string) {
  return t.events.filter((e) => e.userId === userId);
}

/** root: the default test policy skips MFA for him; he has no device. */
export async function rootSignedOn(t: TestApp): Promise<Agent> {
  const a = agent(t.app);
  const res = await login(a, 'root', 'pw-root');
  expect(res.status).toBe(303);
  expect(res.headers.location).toBe('/');
  return a;
}

/**
 * root as an administrator acting on other users: an administrator's writes
 * need the administrator's own fresh MFA, so root pairs his address through
 * the API and answers a step-up.
 */
export async function adminWithFreshMfa(t: TestApp, sink: SmtpSink): Promise<Agent> {
  const a = await rootSignedOn(t);
  if ((await call(a, 'get', '/devices')).body.count === 0) await pairDevice(a, sink, 'root@example.test');
  const { res, code } = await startAuthentication(a, sink, 'root@example.test');
  const done = await call(a, 'post', '/authentications/{id}/otp', { id: res.body.id }, { otp: code });
  expect(done.status, done.text).toBe(200);
  return a;
}

export function appWith(sink: SmtpSink, mfa: Partial<MfaOptions<TestUser>> = {}): TestApp {
  return createTestApp({ sink, mfa });
}

/** The id of the user's only/first device with this address, read through the API. */
export async function deviceIdOf(a: Agent, email: string): Promise<string> {
  const res = await call(a, 'get', '/devices');
  expect(res.status).toBe(200);
  const device = (res.body._embedded.devices as Array<{ id: string; email: string }>).find((d) => d.email === email);
  if (!device) throw new Error(`no device ${email} in ${res.text}`);
  return device.id;
}

/** POST /devices and the pairing mail it sends. */
export async function createDevice(
  a: Agent,
  sink: SmtpSink,
  email: string,
  extra: Record<string, unknown> = {},
): Promise<{ res: ApiResponse; mail: ReceivedMail; code: string }> {
  const after = sink.count();
  const res = await call(a, 'post', '/devices', {}, { type: 'email', email, ...extra });
  expect(res.status, res.text).toBe(201);
  const mail = await sink.next(email, { after });
  return { res, mail, code: codeFrom(mail) };
}

/** Adds and activates an address through the API; returns its id. */
export async function pairDevice(a: Agent, sink: SmtpSink, email: string, nickname?: string): Promise<string> {
  const { res, code } = await createDevice(a, sink, email, nickname === undefined ? {} : { nickname });
  const activated = await call(a, 'post', '/devices/{id}/activate', { id: res.body.id }, { otp: code });
  expect(activated.status, activated.text).toBe(200);
  expect(activated.body.status).toBe('ACTIVE');
  return res.body.id as string;
}

/** POST /authentications (to the default device, or `deviceId`) and the code mailed for it. */
export async function startAuthentication(
  a: Agent,
  sink: SmtpSink,
  address: string,
  deviceId?: string,
): Promise<{ res: ApiResponse; code: string }> {
  const after = sink.count();
  const res = await call(a, 'post', '/authentications', {}, deviceId === undefined ? {} : { deviceId });
  expect(res.status, res.text).toBe(201);
  const mail = await sink.next(address, { after });
  return { res, code: codeFrom(mail) };
}

/** The session cookie value a response sets, if it sets one. */
export function sessionCookie(res: { headers: Record<string, unknown> }): string | undefined {
  const header = res.headers['set-cookie'];
  const cookies = Array.isArray(header) ? (header as string[]) : typeof header === 'string' ? [header] : [];
  const found = cookies.find((c) => c.startsWith('connect.sid='));
  return found ? found.slice('connect.sid='.length).split(';')[0] : undefined;
}

/**
 * The mails received since `after`. The library answers only once its mails
 * are accepted by the SMTP sink (which stores them before it says 250), so
 * what a request sent is here when its response is.
 */
export function mailsSince(sink: SmtpSink, after: number): ReceivedMail[] {
  return sink.received.slice(after);
}
