/**
 * A client's mistake is a 4xx, logged as a warning, never an outage: a body
 * too large, in an unknown Content-Encoding or with too many fields, and a
 * path that is not valid percent-encoding are answered with their own status
 * and a stable code, without Retry-After, and leave one warning line (no
 * stack) in the log, never an error: anyone can send them, so they must not
 * set off the app's outage alerts.
 */
import type { NextFunction, Request, Response as ExpressResponse } from 'express';
import { describe, expect, it } from 'vitest';
import type { Response } from 'supertest';
import { agent, createTestApp, type TestApp } from '../helpers/app.js';
import { call, validateResponse, type ApiResponse } from '../api/openapi.js';
import { useSink } from './support.js';

const sink = useSink();

const bigJson = JSON.stringify({ type: 'email', email: 'eve@example.test', nickname: 'x'.repeat(20_000) });
const bigForm = `otp=${'1'.repeat(200_000)}`;
const manyFields = Array.from({ length: 1001 }, (_, i) => `f${i}=1`).join('&');

/** Runs one request and returns it with the log lines it left. */
async function logged<R>(t: TestApp, request: () => Promise<R>): Promise<{ res: R; lines: TestApp['logs'] }> {
  const before = t.logs.length;
  const res = await request();
  return { res, lines: t.logs.slice(before) };
}

function expectClientMistake({ res, lines }: { res: ApiResponse | Response; lines: TestApp['logs'] }, status: number, what: string): void {
  expect(res.status, `${what}: ${res.text.slice(0, 300)}`).toBe(status);
  expect(res.headers['retry-after'], `${what}: Retry-After`).toBeUndefined();
  expect(lines.filter((l) => l.level === 'error'), `${what}: no error logged`).toEqual([]);
  const warnings = lines.filter((l) => l.level === 'warn');
  expect(warnings, `${what}: one warning`).toHaveLength(1);
  expect(warnings[0]!.message, `${what}: one line`).not.toMatch(/\n/);
  expect(warnings[0]!.error, `${what}: no error object (no stack)`).toBeUndefined();
  expect(warnings[0]!.message, what).toContain(String(status));
}

describe('the JSON API answers a client mistake with its 4xx and a stable code', () => {
  it('a body over 16 kB: 413 BAD_REQUEST', async () => {
    const t = createTestApp({ sink: sink() });
    const a = agent(t.app);
    const result = await logged(t, () => call(a, 'post', '/devices', {}, undefined, { raw: { type: 'application/json', text: bigJson } }));
    expectClientMistake(result, 413, 'POST /devices with 20 kB');
    expect(result.res.body.code).toBe('BAD_REQUEST');
  });

  it('an unsupported or broken Content-Encoding: 415 or 400 BAD_REQUEST', async () => {
    const t = createTestApp({ sink: sink() });
    const a = agent(t.app);
    const bogus = await logged(t, () =>
      call(a, 'post', '/devices', {}, undefined, { raw: { type: 'application/json', text: '{}' }, headers: { 'Content-Encoding': 'br-bogus' } }),
    );
    expectClientMistake(bogus, 415, 'Content-Encoding: br-bogus');
    expect(bogus.res.body.code).toBe('BAD_REQUEST');
    const garbage = await logged(t, () =>
      call(a, 'post', '/devices', {}, undefined, { raw: { type: 'application/json', text: 'not deflate at all' }, headers: { 'Content-Encoding': 'deflate' } }),
    );
    expectClientMistake(garbage, 400, 'Content-Encoding: deflate with garbage');
    expect(garbage.res.body.code).toBe('BAD_REQUEST');
  });

  it('a path parameter that is not valid percent-encoding: 400 BAD_REQUEST', async () => {
    const t = createTestApp({ sink: sink() });
    const a = agent(t.app);
    const result = await logged(t, async () => {
      const res = (await a.get('/mfa/api/devices/%E0%A4%A').set('Accept', 'application/json')) as unknown as ApiResponse;
      await validateResponse(a, 'get', '/devices/{id}', res);
      return res;
    });
    expectClientMistake(result, 400, 'GET /devices/%E0%A4%A');
    expect(result.res.body).toEqual({ code: 'BAD_REQUEST', message: expect.any(String) });
  });

  it('a body that is not JSON keeps its VALIDATION_FAILED, and is a warning too', async () => {
    const t = createTestApp({ sink: sink() });
    const a = agent(t.app);
    const result = await logged(t, () => call(a, 'post', '/devices', {}, undefined, { raw: { type: 'application/json', text: '{"email": ' } }));
    expectClientMistake(result, 400, 'broken JSON');
    expect(result.res.body.code).toBe('VALIDATION_FAILED');
  });
});

describe('pages answer a client mistake with the message page and its 4xx', () => {
  it('a 200 kB form and a form of 1001 fields, read by the library\'s own parser: 413', async () => {
    const t = createTestApp({ sink: sink(), formParser: false });
    const a = agent(t.app);
    for (const [what, body] of [['200 kB', bigForm], ['1001 fields', manyFields]] as const) {
      const result = await logged(t, () => a.post('/mfa/challenge').type('form').send(body));
      expectClientMistake(result, 413, `POST /mfa/challenge, ${what}`);
      expect(result.res.headers['content-type']).toMatch(/^text\/html/);
      expect(result.res.text).toContain('What you sent is too large.');
    }
  });

  it('the same forms refused by the app\'s own parser reach auth.errorHandler(): 413 too, in the reader\'s language', async () => {
    const t = createTestApp({ sink: sink(), routes: (app, auth) => app.use(auth.errorHandler()) });
    const a = agent(t.app);
    for (const [what, body] of [['200 kB', bigForm], ['1001 fields', manyFields]] as const) {
      const result = await logged(t, () => a.post('/mfa/challenge').type('form').send(body));
      expectClientMistake(result, 413, `POST /mfa/challenge, ${what}`);
      expect(result.res.text).toContain('What you sent is too large.');
    }
    const french = await logged(t, () => a.post('/mfa/challenge').set('Accept-Language', 'fr').type('form').send(bigForm));
    expectClientMistake(french, 413, 'POST /mfa/challenge in French');
    expect(french.res.text).toContain('Ce que vous avez envoyé est trop volumineux.');
  });

  it("auth.errorHandler() leaves the app's own errors to the app: its parser's refusals and its bugs go on with next(err)", async () => {
    const seen: unknown[] = [];
    const t = createTestApp({
      sink: sink(),
      routes: (app, auth) => {
        app.get('/broken', () => {
          throw new Error('the database is down');
        });
        app.use(auth.errorHandler());
        app.use((error: Error & { status?: number }, _req: Request, res: ExpressResponse, _next: NextFunction) => {
          seen.push(error);
          res.status(error.status ?? 500).send('the app\'s own error page');
        });
      },
    });
    const a = agent(t.app);
    const json = await logged(t, () => a.post('/login').set('Content-Type', 'application/json').send('{"username": '));
    expect(json.res.status).toBe(400);
    expect(json.res.text).toBe("the app's own error page");
    const broken = await logged(t, () => a.get('/broken'));
    expect(broken.res.status).toBe(500);
    expect(broken.res.text).toBe("the app's own error page");
    expect(broken.res.headers['retry-after']).toBeUndefined();
    expect([...json.lines, ...broken.lines]).toEqual([]);
    expect(seen).toHaveLength(2);
  });
});
