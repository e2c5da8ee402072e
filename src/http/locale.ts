import type { Request } from 'express';
import type { Translator } from '../i18n/translator.js';

// Decided once per request, where the request enters the library's routes.
const chosen = new WeakMap<Request, string>();

export function localeOf(req: Request): string {
  return chosen.get(req) ?? 'en';
}

/** The app's locale(req, user) first, then Accept-Language; English last. */
export function chooseLocale(
  req: Request,
  translator: Translator,
  option: ((req: unknown, user: any) => string | null | undefined) | undefined,
  user?: unknown,
): string {
  const locale = translator.negotiate(option?.(req, user ?? req.user), req.get('accept-language'));
  chosen.set(req, locale);
  return locale;
}
