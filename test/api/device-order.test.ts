/**
 * POST /devices/order and its admin twin, auth.devices.reorder/move, and
 * reorders racing each other and a new device: the order is always a
 * permutation of the user's devices, and a refused list changes nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { agent, type Agent, type TestApp } from '../helpers/app.js';
import { SmtpSink } from '../helpers/smtp.js';
import { call, expectError } from './openapi.js';
import { addressOf, adminWithFreshMfa, appWith, createDevice, eventsOf, fakeClock, freshUser, MINUTE, pairDevice } from './support.js';

let sink: SmtpSink;
let t: TestApp;
let root: Agent;
beforeAll(async () => {
  sink = await SmtpSink.start();
  t = appWith(sink, { admin: (req) => req.user?.admin === true, limits: { sendLimit: 50 } });
  root = await adminWithFreshMfa(t, sink);
});
afterAll(async () => {
  await sink.close();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A signed-on user with three active devices, in this order: profile address, work, home. */
async function userWithThree() {
  const { a, u } = await freshUser(t, sink);
  const [first] = await t.auth.devices.list(u.id);
  const work = await pairDevice(a, sink, addressOf(u, 'work'), 'Work');
  const home = await pairDevice(a, sink, addressOf(u, 'home'), 'Home');
  return { a, u, ids: [first!.id, work, home] as const };
}

const idsOf = (res: { body: { _embedded: { devices: Array<{ id: string }> } } }) => res.body._embedded.devices.map((d) => d.id);
const orderOf = async (userId: string) => (await t.auth.devices.list(userId)).map((d) => d.id);

describe('POST /devices/order', () => {
  it('takes a permutation of the user\'s devices and answers the list in its new order, the first active one the default', async () => {
    const { a, u, ids } = await userWithThree();
    const [alice, work, home] = ids;
    const res = await call(a, 'post', '/devices/order', {}, { order: [home, alice, work] });
    expect(res.status, res.text).toBe(200);
    expect(idsOf(res)).toEqual([home, alice, work]);
    expect(res.body.count).toBe(3);
    expect(res.body._embedded.devices.map((d: { default: boolean }) => d.default)).toEqual([true, false, false]);
    expect(idsOf(await call(a, 'get', '/devices'))).toEqual([home, alice, work]);
    expect(eventsOf(t, u.id).filter((e) => e.type === 'device.reordered')).toHaveLength(1);
    expect(eventsOf(t, u.id).filter((e) => e.type === 'device.default').map((e) => e.deviceId)).toEqual([home]);

    // The default device gets the next authentication's code.
    const after = sink.count();
    expect((await call(a, 'post', '/authentications', {}, {})).body.device.id).toBe(home);
    await sink.next(addressOf(u, 'home'), { after });

    // The same order again is taken too, and gives the default to no one new.
    expect((await call(a, 'post', '/devices/order', {}, { order: [home, alice, work] })).status).toBe(200);
    expect(eventsOf(t, u.id).filter((e) => e.type === 'device.default')).toHaveLength(1);
  });

  it('refuses a missing, an extra or a repeated id, another user\'s id, and anything but an array of strings, changing nothing', async () => {
    const { a, u, ids } = await userWithThree();
    const [alice, work, home] = ids;
    const { u: other } = await freshUser(t, sink);
    const [theirs] = await t.auth.devices.list(other.id);
    const bad: unknown[] = [
      { order: [work, alice] },
      { order: [work, alice, home, '00000000-0000-4000-8000-000000000000'] },
      { order: [work, alice, home, home] },
      { order: [work, work, alice] },
      { order: [work, alice, theirs!.id] },
      { order: [work, alice, home, theirs!.id] },
      { order: `${work},${alice},${home}` },
      { order: { 0: work, 1: alice, 2: home } },
      { order: [work, alice, 3] },
      { order: null },
      {},
      [work, alice, home],
    ];
    for (const body of bad) {
      const res = await call(a, 'post', '/devices/order', {}, body);
      expectError(res, 400, 'VALIDATION_FAILED', { field: 'order' });
    }
    const unknownField = await call(a, 'post', '/devices/order', {}, { order: [home, work, alice], default: true });
    expectError(unknownField, 400, 'VALIDATION_FAILED', { field: 'default' });
    expect(await orderOf(u.id)).toEqual([alice, work, home]);
    expect(await orderOf(other.id)).toEqual([theirs!.id]);
    expect(eventsOf(t, u.id).filter((e) => e.type === 'device.reordered')).toHaveLength(0);
  });

  it('counts a device waiting for its code among the ones to order, but it cannot be the default', async () => {
    const { a, u, ids } = await userWithThree();
    const { res } = await createDevice(a, sink, addressOf(u, 'pending'));
    const pending = res.body.id as string;
    expectError(await call(a, 'post', '/devices/order', {}, { order: [...ids] }), 400, 'VALIDATION_FAILED', { field: 'order' });
    const ordered = await call(a, 'post', '/devices/order', {}, { order: [pending, ids[2], ids[0], ids[1]] });
    expect(ordered.status).toBe(200);
    expect(ordered.body._embedded.devices.map((d: { default: boolean }) => d.default)).toEqual([false, true, false, false]);
  });

  it('needs no recent MFA, but a signed-on user', async () => {
    const { a, u, ids } = await userWithThree();
    const clock = fakeClock();
    clock.advance(60 * MINUTE);
    expect((await call(a, 'post', '/devices/order', {}, { order: [ids[1], ids[0], ids[2]] })).status).toBe(200);
    expect(await orderOf(u.id)).toEqual([ids[1], ids[0], ids[2]]);
    expectError(await call(agent(t.app), 'post', '/devices/order', {}, { order: [...ids] }), 401, 'UNAUTHENTICATED');
  });
});

describe('POST /users/{userId}/devices/order', () => {
  it('an administrator orders another user\'s devices; a user cannot order someone else\'s', async () => {
    const { a, u, ids } = await userWithThree();
    const [alice, work, home] = ids;
    const res = await call(root, 'post', '/users/{userId}/devices/order', { userId: u.id }, { order: [work, home, alice] });
    expect(res.status, res.text).toBe(200);
    expect(idsOf(res)).toEqual([work, home, alice]);
    expect(await orderOf(u.id)).toEqual([work, home, alice]);

    expectError(await call(root, 'post', '/users/{userId}/devices/order', { userId: u.id }, { order: [work, home] }), 400, 'VALIDATION_FAILED', { field: 'order' });
    const { a: other } = await freshUser(t, sink);
    expectError(await call(other, 'post', '/users/{userId}/devices/order', { userId: u.id }, { order: [alice, work, home] }), 403, 'FORBIDDEN');
    expectError(await call(a, 'post', '/users/{userId}/devices/order', { userId: u.id }, { order: [alice, work, home] }), 403, 'FORBIDDEN');
    expect(await orderOf(u.id)).toEqual([work, home, alice]);
  });
});

describe('auth.devices.reorder and auth.devices.move', () => {
  it('reorder takes the same lists and refuses the same mistakes; move swaps with a neighbour, a no-op at either end', async () => {
    const { u, ids } = await userWithThree();
    const [alice, work, home] = ids;
    const reordered = await t.auth.devices.reorder(u.id, [work, home, alice]);
    expect(reordered.map((d) => [d.id, d.default])).toEqual([[work, true], [home, false], [alice, false]]);
    await expect(t.auth.devices.reorder(u.id, [work, home])).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'order' });
    await expect(t.auth.devices.reorder(u.id, 'nope' as unknown as string[])).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'order' });

    expect((await t.auth.devices.move(u.id, alice, 'up')).map((d) => d.id)).toEqual([work, alice, home]);
    expect((await t.auth.devices.move(u.id, work, 'up')).map((d) => d.id)).toEqual([work, alice, home]);
    expect((await t.auth.devices.move(u.id, work, 'down')).map((d) => d.id)).toEqual([alice, work, home]);
    expect((await t.auth.devices.move(u.id, home, 'down')).map((d) => d.id)).toEqual([alice, work, home]);
    await expect(t.auth.devices.move(u.id, 'no-such-device', 'up')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(t.auth.devices.move(u.id, work, 'left' as 'up')).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'direction' });
    expect(await orderOf(u.id)).toEqual([alice, work, home]);
  });
});

describe('reorders at once', () => {
  const isPermutationOf = (got: string[], ids: readonly string[]) => expect([...got].sort()).toEqual([...ids].sort());

  it('two reorders at once both answer, and the order is one of the two', async () => {
    const { a, u, ids } = await userWithThree();
    const [alice, work, home] = ids;
    const one = [home, work, alice];
    const two = [work, alice, home];
    const [r1, r2] = await Promise.all([
      call(a, 'post', '/devices/order', {}, { order: one }),
      call(a, 'post', '/devices/order', {}, { order: two }),
    ]);
    expect([r1.status, r2.status]).toEqual([200, 200]);
    const now = await orderOf(u.id);
    expect([one, two]).toContainEqual(now);
  });

  it('moves racing each other and a new device leave a permutation of the user\'s devices', async () => {
    const { u, ids } = await userWithThree();
    const [alice, work, home] = ids;
    const results = await Promise.allSettled([
      t.auth.devices.move(u.id, home, 'up'),
      t.auth.devices.move(u.id, alice, 'down'),
      t.auth.devices.move(u.id, work, 'up'),
      t.auth.devices.create(u.id, { email: addressOf(u, 'late') }),
      t.auth.devices.reorder(u.id, [home, work, alice]),
    ]);
    // The moves re-read and retry; only the whole list made before the new device may be refused.
    expect(results.slice(0, 4).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    const reorder = results[4]!;
    if (reorder.status === 'rejected') expect(reorder.reason).toMatchObject({ code: 'VALIDATION_FAILED', field: 'order' });
    const devices = await t.auth.devices.list(u.id);
    expect(devices).toHaveLength(4);
    isPermutationOf(devices.map((d) => d.id), [...ids, devices.find((d) => d.status === 'ACTIVATION_REQUIRED')!.id]);
    expect(devices.filter((d) => d.default)).toHaveLength(1);
  });
});
