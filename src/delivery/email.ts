import { DeliveryError } from '../core/errors.js';
import { messageHelpers, type Translator } from '../i18n/translator.js';
import type { Branding, Logger, MailTransport } from '../config/contracts.js';
import type { Renderer } from '../render.js';
import { parseEmailAddress } from '../methods/email/address.js';

export type EmailKind = 'pairing' | 'signon' | 'stepup' | 'device-added' | 'device-removed' | 'recovery-used';

/**
 * Builds an email from the templates `emails/<kind>.subject|text|html` and
 * hands it to the transport. Recipients are re-validated here, so that no
 * caller can slip a second recipient or a header into a message.
 */
export class EmailSender {
  constructor(
    private readonly renderer: Renderer,
    private readonly translator: Translator,
    private readonly transport: MailTransport,
    private readonly from: string,
    private readonly branding: Branding,
  ) {}

  /** Sends in `locale` (the language of the request that caused the mail). */
  async send(kind: EmailKind, to: string, data: Record<string, unknown>, locale = 'en'): Promise<void> {
    const address = parseEmailAddress(to);
    const locals = { ...messageHelpers(this.translator, locale), brand: this.branding, ...data, to: address };
    const subject = this.renderer.render(`emails/${kind}.subject`, locals, 'text').replace(/\s+/g, ' ').trim();
    const text = this.renderer.render(`emails/${kind}.text`, locals, 'text');
    const html = this.renderer.render(`emails/${kind}.html`, locals, 'html');
    try {
      await this.transport.sendMail({ from: this.from, to: address, subject, text, html });
    } catch (error) {
      throw new DeliveryError(error);
    }
  }
}

/** For development without SMTP: writes each email's text to the log, where the code can be read. */
export class LogTransport implements MailTransport {
  constructor(private readonly logger: Logger) {}

  async sendMail(message: { to: string; subject: string; text: string }): Promise<void> {
    this.logger.info(`email to ${message.to}: ${message.subject}\n${message.text.trim()}\n`);
  }
}
