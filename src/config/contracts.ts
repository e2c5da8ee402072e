/**
 * The contracts the library and the app share: what the app hands in (a mail
 * transport, a logger, its Passport) and the branding shown on pages. Both
 * the public options and the resolved configuration the domain receives use
 * them, so they live apart from either.
 */

/** Anything with nodemailer's `sendMail(message)`: every nodemailer transport. */
export interface MailTransport {
  sendMail(message: MailMessage): Promise<unknown>;
}

export interface MailMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
}

export interface Branding {
  /** Shown in page titles, the page header and emails. */
  productName?: string;
  /** A same-origin path ('/logo.svg') or an https URL; emails need an absolute https URL to show it. */
  logoUrl?: string;
  /** Loaded after the library's stylesheet, so that its rules win. */
  stylesheetUrl?: string;
}

/** The part of Passport's Authenticator that express-mfa uses. */
export interface PassportLike {
  use(name: string, strategy: unknown): unknown;
  authenticate(strategy: string | string[], options: object, callback?: (...args: any[]) => void): any;
  serializeUser(user: unknown, req: unknown, done: (err: unknown, id?: unknown) => void): void;
  deserializeUser(id: unknown, req: unknown, done: (err: unknown, user?: unknown) => void): void;
}

/**
 * An express-rate-limit Store (rate-limit-redis, rate-limit-memcached…), as
 * far as the library relies on it; the library hands it to express-rate-limit.
 */
export interface RateLimitStore {
  increment(key: string): Promise<{ totalHits: number; resetTime: Date | undefined }> | { totalHits: number; resetTime: Date | undefined };
  decrement(key: string): Promise<void> | void;
  resetKey(key: string): Promise<void> | void;
  init?(options: any): void;
  prefix?: string;
  localKeys?: boolean;
}
