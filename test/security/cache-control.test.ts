/**
 * Nothing under /mfa but the stylesheet may be kept by a browser or a shared
 * cache: every API answer (errors and openapi.json included) and every page
 * and redirect is per session, so all say Cache-Control: no-store.
 */
import { describe, expect, it } from 'vitest';
import type { Response } from 'supertest';
import { agent, createTestApp, enrollAndSignOn, login } from '../helpers/app.js';
import { useSink } from './support.js';

const sink = useSink();

function expectNoStore(res: Response, what: string, status: number): void {
  expect(res.status, `${what}: ${res.text.slice(0, 200)}`).toBe(status);
  expect(res.headers['cache-control'], what).toBe('no-store');
}

describe('Cache-Control under /mfa', () => {
  it('every API answer says no-store: successes, errors and the OpenAPI document', async () => {
    const t = createTestApp({ sink: sink() });
    const anonymous = agent(t.app);
    const json = (req: ReturnType<typeof anonymous.get>) => req.set('Accept', 'application/json');
    expectNoStore(await json(anonymous.get('/mfa/api/openapi.json')), 'GET openapi.json', 200);
    expectNoStore(await json(anonymous.get('/mfa/api/devices')), 'GET /devices, not signed on', 401);
    expectNoStore(await json(anonymous.get('/mfa/api/nowhere')), 'an unknown endpoint', 404);
    expectNoStore(await json(anonymous.post('/mfa/api/devices').type('form').send('email=x')), 'a form post', 415);
    expectNoStore(await json(anonymous.get('/mfa/api/devices/%E0%A4%A')), 'a bad path parameter', 400);

    const alice = agent(t.app);
    expect((await enrollAndSignOn(alice, sink(), t.users[0]!)).status).toBe(303);
    expectNoStore(await json(alice.get('/mfa/api/devices')), 'GET /devices', 200);
    expectNoStore(await json(alice.post('/mfa/api/devices').send({ email: 'not an address' })), 'POST /devices, invalid', 400);
  });

  it('every page and redirect of the pages router says no-store', async () => {
    const t = createTestApp({ sink: sink() });
    const anonymous = agent(t.app);
    expectNoStore(await anonymous.get('/mfa/challenge'), 'GET /mfa/challenge, no sign-on', 303);
    expectNoStore(await anonymous.get('/mfa/enroll'), 'GET /mfa/enroll, no sign-on', 303);
    expectNoStore(await anonymous.get('/mfa/devices'), 'GET /mfa/devices, not signed on', 303);
    expectNoStore(await anonymous.post('/mfa/challenge').type('form').send({ otp: '123456' }), 'POST without a CSRF token', 403);

    const bob = agent(t.app);
    expect((await login(bob, 'bob', 'pw-bob')).headers.location).toBe('/mfa/enroll');
    expectNoStore(await bob.get('/mfa/challenge'), 'GET /mfa/challenge while enrolling', 303);
    expectNoStore(await bob.get('/mfa/enroll'), 'GET /mfa/enroll', 200);
  });

  it('the stylesheet stays cacheable', async () => {
    const t = createTestApp({ sink: sink() });
    const a = agent(t.app);
    const css = await a.get('/mfa/assets/mfa.css');
    expect(css.status).toBe(200);
    expect(css.headers['cache-control']).toBe('public, max-age=3600');
    const again = await a.get('/mfa/assets/mfa.css').set('If-None-Match', css.headers.etag as string);
    expect(again.status).toBe(304);
    expect(again.headers['cache-control']).toBe('public, max-age=3600');
  });
});
