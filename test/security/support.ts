/**
 * Shared pieces of the security suite. Not a test file: vitest collects
 * *.test.ts only.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { join } from 'node:path';
import session from 'express-session';
import { afterAll, afterEach, beforeAll, expect, vi } from 'vitest';
import type { Response } from 'supertest';
import { codeOf, login, submit, type Agent, type TestApp, type TestUser } from '../helpers/app.js';
import { SmtpSink, type ReceivedMail } from '../helpers/smtp.js';

/** One real SMTP sink per test file. */
export function useSink(): () => SmtpSink {
  let sink: SmtpSink | undefined;
  beforeAll(async () => {
    sink = await SmtpSink.start();
  });
  afterAll(async () => {
    await sink?.close();
  });
  return () => sink!;
}

/** Fakes Date only (HTTP, SMTP and timers keep working); restored after each test. */
export function useFakeDate(): { install(): number; advance(ms: number): number } {
  afterEach(() => {
    vi.useRealTimers();
  });
  return {
    install() {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date());
      return Date.now();
    },
    advance(ms: number) {
      vi.setSystemTime(new Date(Date.now() + ms));
      return Date.now();
    },
  };
}

/** The connect.sid cookie ("connect.sid=...") a response set, if any. */
export function sessionCookie(res: Response): string | undefined {
  const raw = res.headers['set-cookie'] as unknown as string[] | string | undefined;
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  const found = list.find((c) => c.startsWith('connect.sid='));
  return found?.split(';')[0];
}

/** The session id inside a connect.sid cookie. */
export function sidOf(cookie: string): string {
  const value = decodeURIComponent(cookie.slice('connect.sid='.length));
  expect(value.startsWith('s:')).toBe(true);
  return value.slice(2, value.lastIndexOf('.'));
}

/** An express-session MemoryStore whose sessions the test can read. */
export class InspectableSessionStore extends session.MemoryStore {
  /** sid → parsed session */
  dump(): Record<string, any> {
    const sessions = (this as unknown as { sessions: Record<string, string> }).sessions;
    return Object.fromEntries(Object.entries(sessions).map(([sid, json]) => [sid, JSON.parse(json)]));
  }

  /** Every stored session as one JSON text. */
  get raw(): string {
    return JSON.stringify(this.dump());
  }
}

/** A session store that does not manage to destroy sessions (a lagging replica, say). */
export class ForgetfulSessionStore extends InspectableSessionStore {
  override destroy(_sid: string, callback?: (err?: unknown) => void): void {
    callback?.();
  }
}

/** Pairs an email device for the user through the programmatic API (one pairing mail). */
export async function pairDevice(t: TestApp, sink: SmtpSink, userId: string, email: string, nickname?: string) {
  const after = sink.count();
  const { device } = await t.auth.devices.create(userId, { email, nickname });
  const mail = await sink.next(email, { after, subject: /confirm this email/ });
  return t.auth.devices.activate(userId, device.id, codeOf(mail.text));
}

/** Password step for a user with a device; returns the code mailed and the pending session's cookie. */
export async function startSignOn(a: Agent, sink: SmtpSink, user: TestUser, address = user.email!) {
  const after = sink.count();
  const res = await login(a, user.username, user.password);
  expect(res.status).toBe(303);
  expect(res.headers.location).toBe('/mfa/challenge');
  const mail = await sink.next(address, { after, subject: /sign-on code/ });
  return { res, code: codeOf(mail.text), cookie: sessionCookie(res)!, mail };
}

/** Answers the pending challenge with `otp` through the page's form. */
export function answer(a: Agent, otp: string) {
  return submit(a, '/mfa/challenge', '/mfa/challenge', { otp });
}

/** A code of the same length that is certainly not `code`. */
export function wrongCode(code: string, offset = 1): string {
  const n = (Number(code) + offset) % 10 ** code.length;
  return String(n).padStart(code.length, '0');
}

/** Mails received to `address` (after the first `after` mails of the sink, optionally with a subject). */
export function mailsTo(sink: SmtpSink, address: string, options: { after?: number; subject?: RegExp } = {}): ReceivedMail[] {
  return sink.received
    .slice(options.after ?? 0)
    .filter((m) => m.to.includes(address) && (!options.subject || options.subject.test(m.subject)));
}

/** Maps and Sets turned into plain objects, so that a whole store can be searched. */
export function plain(value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  if (value instanceof Set) return [...value].map(plain);
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/** Every leaf value (string or number) of a structure. */
export function leaves(value: unknown, out: unknown[] = []): unknown[] {
  if (value && typeof value === 'object') for (const v of Object.values(value)) leaves(v, out);
  else out.push(value);
  return out;
}

/** True when `code` occurs in `text` as a token of its own (not inside a longer run of letters or digits). */
export function containsToken(text: string, code: string): boolean {
  return new RegExp(`(?<![0-9A-Za-z])${code}(?![0-9A-Za-z])`).test(text);
}

/** A listening server for bursts of parallel requests (one server, many connections). */
export async function listen(app: RequestListener): Promise<Server> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

export function close(server: Server): Promise<void> {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** All .ts files under a folder. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

export function read(path: string): string {
  return readFileSync(path, 'utf8');
}
