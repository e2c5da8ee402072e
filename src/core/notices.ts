import type { Logger } from '../config/contracts.js';
import type { NoticeKind } from '../methods/method.js';
import type { MethodRegistry } from '../methods/registry.js';
import type { DeviceRecord, MfaStore } from '../stores/types.js';

/** Which methods carry the account's notices, first choice first: the first of them the user has active is used. */
export interface NoticeRouting {
  /** A method added or removed (PingOne's newDeviceNotification); none: not told. */
  newDevice: string[];
  /** A recovery code used. */
  account: string[];
}

/**
 * Notices to the user about their account (a method added or removed, a
 * recovery code used), so that a change they did not make does not go
 * unseen. They go through the user's active devices of the first method in
 * the routing that the user has (all of its devices: every address), and to
 * a removed device too when it carries messages. The change is done by the
 * time a notice is sent: a failed notice is logged, not undone.
 */
export class Notices {
  constructor(
    private readonly store: MfaStore,
    private readonly methods: MethodRegistry,
    private readonly routing: NoticeRouting,
    private readonly logger: Logger,
  ) {}

  async send(
    userId: string,
    kind: NoticeKind,
    data: Record<string, unknown>,
    locale: string | undefined,
    route: { exceptId?: string | null; removed?: DeviceRecord } = {},
  ): Promise<void> {
    const order = kind === 'recovery-used' ? this.routing.account : this.routing.newDevice;
    if (order.length === 0) return;
    const active = (await this.store.listDevices(userId)).filter((d) => d.status === 'ACTIVE' && d.id !== route.exceptId);
    const carries = (d: DeviceRecord) => this.methods.get(d.type)?.notice !== undefined;
    const first = order.find((type) => active.some((d) => d.type === type && carries(d)));
    const targets = active.filter((d) => d.type === first && carries(d));
    if (route.removed && order.includes(route.removed.type) && carries(route.removed)) targets.push(route.removed);
    const byRecipient = new Map<string, DeviceRecord>();
    for (const device of targets) byRecipient.set(this.methods.get(device.type)!.notice!.recipient(device), device);
    await Promise.all(
      [...byRecipient.values()].map((device) =>
        this.methods.get(device.type)!.notice!.send(device, kind, data, locale)
          .catch((error) => this.logger.error(`could not send the ${kind} notice for user ${userId}`, error)),
      ),
    );
  }
}
