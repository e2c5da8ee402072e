import type { Logger } from '../config/contracts.js';
import type { EmailKind, EmailSender } from '../delivery/email.js';
import type { MethodRegistry } from '../methods/registry.js';
import type { MfaStore } from '../stores/types.js';

/**
 * Notices to the user about their account (a method added or removed, a
 * recovery code used), so that a change they did not make does not go
 * unseen. They go to every address the user's active methods give. The
 * change is done by the time a notice is sent: a failed notice is logged,
 * not undone.
 */
export class Notices {
  constructor(
    private readonly store: MfaStore,
    private readonly methods: MethodRegistry,
    private readonly sender: EmailSender,
    private readonly logger: Logger,
  ) {}

  async send(
    userId: string,
    kind: EmailKind,
    data: Record<string, unknown>,
    locale: string | undefined,
    route: { exceptId?: string | null; alsoTo?: string } = {},
  ): Promise<void> {
    const recipients = (await this.store.listDevices(userId))
      .filter((d) => d.status === 'ACTIVE' && d.id !== route.exceptId)
      .map((d) => this.methods.get(d.type)?.noticeAddress?.(d))
      .filter((to): to is string => to !== undefined);
    if (route.alsoTo) recipients.push(route.alsoTo);
    await Promise.all(
      [...new Set(recipients)].map((to) =>
        this.sender.send(kind, to, data, locale).catch((error) => this.logger.error(`could not send the ${kind} notice for user ${userId}`, error)),
      ),
    );
  }
}
