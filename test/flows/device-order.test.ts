/**
 * Ordering on "Your authentication methods": Move up / Move down, the
 * default that follows the order (the first active method), and the order in
 * which the challenge page offers the other methods.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { agent, codeOf, createTestApp, enrollAndSignOn, login, submit, type Agent, type TestApp } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import { alertOf, deviceIdsOf, fakeClock, MINUTE, noticeOf } from './support.js';

let sink: SmtpSink;
beforeAll(async () => {
  sink = await SmtpSink.start();
});
afterAll(async () => {
  await sink.close();
});
afterEach(() => {
  vi.useRealTimers();
});

const ALICE = 'alice@example.test';
const WORK = 'alice.work@example.test';
const HOME = 'alice.home@example.test';

/** Alice signed on with three active addresses, in this order: her profile address, Work, Home. */
async function aliceWithThree(): Promise<{ t: TestApp; a: Agent; ids: { alice: string; work: string; home: string } }> {
  const t = createTestApp({ sink, mfa: { limits: { sendLimit: 50 } } });
  const a = agent(t.app);
  expect((await enrollAndSignOn(a, sink, t.users[0]!)).status).toBe(303);
  const pair = async (email: string, nickname: string) => {
    const after = sink.count();
    const added = await submit(a, '/mfa/devices/add?type=email', '/mfa/devices/add', { email, nickname });
    const activatePath = String(added.headers.location);
    const code = codeOf((await sink.next(email, { after })).text);
    expect((await submit(a, activatePath, activatePath, { otp: code })).headers.location).toBe('/mfa/devices');
    return activatePath.split('/')[3]!;
  };
  const work = await pair(WORK, 'Work');
  const home = await pair(HOME, 'Home');
  const alice = (await t.auth.devices.list('u1'))[0]!.id;
  return { t, a, ids: { alice, work, home } };
}

const order = async (t: TestApp) => (await t.auth.devices.list('u1')).map((d) => d.id);
const move = (a: Agent, id: string, direction: string) => submit(a, '/mfa/devices', `/mfa/devices/${id}/move`, { direction });

/** The accessible names of the page's Move buttons, in page order. */
function moveLabels(html: string): string[] {
  return [...html.matchAll(/aria-label="(Move (?:up|down): [^"]+)"/g)].map((m) => m[1]!);
}

/** The name shown beside the "Default" badge. */
function defaultOf(html: string): string | undefined {
  return /<strong>([^<]+)<\/strong>\s*<span class="mfa-badge">Default<\/span>/.exec(html)?.[1];
}

/** A sign-on in a new browser, whose code must go to `address`: the other methods the challenge page offers, in order. */
async function challengeOffers(t: TestApp, address: string): Promise<string[]> {
  const b = agent(t.app);
  const after = sink.count();
  expect((await login(b, 'alice', 'pw-alice')).headers.location).toBe('/mfa/challenge');
  await sink.next(address, { after });
  const page = await b.get('/mfa/challenge');
  return deviceIdsOf(page.text);
}

describe('Move up / Move down on "Your authentication methods"', () => {
  it('offers a Move up and a Move down per method, named after it, none past either end', async () => {
    const { a } = await aliceWithThree();
    const page = await a.get('/mfa/devices');
    expect(moveLabels(page.text)).toEqual([`Move down: ${ALICE}`, 'Move up: Work', 'Move down: Work', 'Move up: Home']);
    expect(page.text).toContain('>Move up</button>');
    expect(page.text).toContain('>Move down</button>');
    // Every move form carries the page's CSRF token and works without JavaScript.
    const forms = [...page.text.matchAll(/<form method="post" action="\/mfa\/devices\/[^"]+\/move"[^>]*>([\s\S]*?)<\/form>/g)];
    expect(forms).toHaveLength(4);
    for (const [, inner] of forms) {
      expect(inner).toMatch(/name="_mfa_csrf" value="[^"]+"/);
      expect(inner).toMatch(/name="direction" value="(up|down)"/);
    }
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)/);
  });

  it('moving a method up makes it the default: the badge, the next sign-on and the challenge page follow the order', async () => {
    const { t, a, ids } = await aliceWithThree();
    expect(await challengeOffers(t, ALICE)).toEqual([ids.work, ids.home]);

    const moved = await move(a, ids.work, 'up');
    expect(moved.status).toBe(303);
    expect(moved.headers.location).toBe('/mfa/devices');
    expect(await order(t)).toEqual([ids.work, ids.alice, ids.home]);
    const page = await a.get('/mfa/devices');
    expect(noticeOf(page.text)).toBe('The order of your methods was changed.');
    expect(defaultOf(page.text)).toBe('Work');
    expect(page.text.match(/class="mfa-badge">Default</g)).toHaveLength(1);
    expect(moveLabels(page.text)).toEqual(['Move down: Work', `Move up: ${ALICE}`, `Move down: ${ALICE}`, 'Move up: Home']);

    expect(await challengeOffers(t, WORK)).toEqual([ids.alice, ids.home]);

    // Moving it down again gives the default back; Home up puts it before Work among the others.
    expect((await move(a, ids.work, 'down')).status).toBe(303);
    expect((await move(a, ids.home, 'up')).status).toBe(303);
    expect(await order(t)).toEqual([ids.alice, ids.home, ids.work]);
    expect(defaultOf((await a.get('/mfa/devices')).text)).toBe(ALICE);
    expect(await challengeOffers(t, ALICE)).toEqual([ids.home, ids.work]);

    expect(t.events.filter((e) => e.type === 'device.reordered').map((e) => e.deviceId)).toEqual([ids.work, ids.work, ids.home]);
    expect(t.events.filter((e) => e.type === 'device.default').map((e) => e.deviceId)).toEqual([ids.work, ids.alice]);
  });

  it('a method that is not active does not take the default by moving first', async () => {
    const { t, a, ids } = await aliceWithThree();
    await t.auth.devices.remove('u1', ids.home);
    const after = sink.count();
    const added = await submit(a, '/mfa/devices/add?type=email', '/mfa/devices/add', { email: HOME });
    await sink.next(HOME, { after });
    const pending = String(added.headers.location).split('/')[3]!;
    await move(a, pending, 'up');
    await move(a, pending, 'up');
    expect(await order(t)).toEqual([pending, ids.alice, ids.work]);
    const page = await a.get('/mfa/devices');
    expect(defaultOf(page.text)).toBe(ALICE);
    expect(await challengeOffers(t, ALICE)).toEqual([ids.work]);
  });

  it('asks no fresh MFA: ordering adds or removes no method', async () => {
    const { t, a, ids } = await aliceWithThree();
    const clock = fakeClock();
    clock.advance(30 * MINUTE);
    const moved = await move(a, ids.home, 'up');
    expect(moved.status).toBe(303);
    expect(moved.headers.location).toBe('/mfa/devices');
    expect(await order(t)).toEqual([ids.alice, ids.home, ids.work]);
  });

  it('a stale form past either end changes nothing; a bad direction, an unknown or another user\'s method, or no CSRF token are refused', async () => {
    const { t, a, ids } = await aliceWithThree();
    const before = await order(t);

    expect((await move(a, ids.alice, 'up')).status).toBe(303);
    expect((await move(a, ids.home, 'down')).status).toBe(303);
    expect(await order(t)).toEqual(before);

    const sideways = await move(a, ids.work, 'sideways');
    expect(sideways.status).toBe(400);
    expect(alertOf(sideways.text)).toBe('A method moves up or down.');

    const bob = agent(t.app);
    expect((await enrollAndSignOn(bob, sink, t.users[1]!)).status).toBe(303);
    const bobsDevice = (await t.auth.devices.list('u2'))[0]!.id;
    for (const id of [bobsDevice, '00000000-0000-4000-8000-000000000000']) {
      expect((await move(a, id, 'up')).status).toBe(404);
    }

    const forged = await a.post(`/mfa/devices/${ids.work}/move`).type('form').send({ direction: 'up' });
    expect(forged.status).toBe(403);
    expect(await order(t)).toEqual(before);
    expect((await t.auth.devices.list('u2')).map((d) => d.id)).toEqual([bobsDevice]);
  });

  it('speaks French on a French page', async () => {
    const { a } = await aliceWithThree();
    const page = await a.get('/mfa/devices').set('Accept-Language', 'fr');
    expect(page.text).toContain('aria-label="Monter : Work"');
    expect(page.text).toContain('aria-label="Descendre : Work"');
  });
});
