import { en, type MessageKey, type Messages } from './en.js';
import { fr } from './fr.js';

export type Vars = Record<string, string | number | null | undefined>;

/** The languages that ship; an app adds more, or overrides single messages, with the messages option. */
export const BUILT_IN: Record<string, Partial<Messages>> = { en, fr };

/**
 * Message catalogs by language. A missing message falls back to English,
 * so an app's partial catalog never shows a key.
 */
export class Translator {
  private readonly catalogs = new Map<string, Partial<Record<string, string>>>();
  private readonly plurals = new Map<string, Intl.PluralRules>();

  constructor(extra: Record<string, Record<string, string>> = {}) {
    for (const [locale, messages] of Object.entries(BUILT_IN)) this.catalogs.set(locale, { ...messages });
    for (const [locale, messages] of Object.entries(extra)) {
      const tag = normalize(locale);
      this.catalogs.set(tag, { ...this.catalogs.get(tag), ...messages });
    }
  }

  get locales(): string[] {
    return [...this.catalogs.keys()];
  }

  has(key: string, locale = 'en'): boolean {
    return this.catalogs.get(locale)?.[key] !== undefined || (en as Record<string, string>)[key] !== undefined;
  }

  /**
   * The best language for a list of preferences (the app's choice first,
   * then Accept-Language by quality): an exact tag, then its base language,
   * English last.
   */
  negotiate(preferred: string | null | undefined, acceptLanguage: string | undefined): string {
    const wanted = [...(preferred ? [preferred] : []), ...parseAcceptLanguage(acceptLanguage)];
    for (const tag of wanted.map(normalize)) {
      if (this.catalogs.has(tag)) return tag;
      const base = tag.split('-')[0]!;
      if (this.catalogs.has(base)) return base;
    }
    return 'en';
  }

  t(locale: string, key: MessageKey | string, vars: Vars = {}): string {
    const template = this.lookup(locale, key) ?? key;
    return template.replace(/\{(\w+)\}/g, (whole, name: string) => (vars[name] === undefined || vars[name] === null ? whole : String(vars[name])));
  }

  /** The `.one` / `.other` (…) form of `key` for `count`, by the language's plural rules. */
  plural(locale: string, key: string, count: number, vars: Vars = {}): string {
    let rules = this.plurals.get(locale);
    if (!rules) {
      rules = new Intl.PluralRules(locale);
      this.plurals.set(locale, rules);
    }
    const form = `${key}.${rules.select(count)}`;
    return this.t(locale, this.lookup(locale, form) !== undefined ? form : `${key}.other`, vars);
  }

  private lookup(locale: string, key: string): string | undefined {
    return this.catalogs.get(locale)?.[key] ?? this.catalogs.get('en')?.[key];
  }
}

function normalize(tag: string): string {
  const [language, ...rest] = tag.trim().split(/[-_]/);
  return [language!.toLowerCase(), ...rest.map((r) => r.toUpperCase())].join('-');
}

function parseAcceptLanguage(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(',')
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
      return { tag: tag!.trim(), q: q === undefined ? 1 : Number(q), index };
    })
    .filter((l) => l.tag !== '' && l.tag !== '*' && l.q > 0 && /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(l.tag))
    .sort((a, b) => b.q - a.q || a.index - b.index)
    .map((l) => l.tag);
}

const escapeHtml = (value: unknown) =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** What a page or email shows for an error: its code, the catalog key of its message and the values in it. */
export interface ErrorText {
  code: string;
  key: string;
  vars: Vars;
}

/**
 * The helpers every template gets, bound to one language: `t` (plain text,
 * escaped by `<%= %>`), `th` (HTML with each value escaped and in <strong>,
 * for `<%- %>`), `plural` and `errorText`.
 */
export function messageHelpers(translator: Translator, locale: string) {
  const t = (key: string, vars: Vars = {}) => translator.t(locale, key, vars);
  const th = (key: string, vars: Vars = {}) =>
    escapeHtml(translator.t(locale, key, Object.fromEntries(Object.keys(vars).map((k) => [k, `\u0000${k}\u0000`]))))
      .replace(/\u0000(\w+)\u0000/g, (_, name: string) => `<strong>${escapeHtml(vars[name] ?? '')}</strong>`);
  const plural = (key: string, count: number, vars: Vars = {}) => translator.plural(locale, key, count, vars);
  const errorText = (error: ErrorText) => {
    const key = `error.${error.key}`;
    const count = Object.values(error.vars).find((v): v is number => typeof v === 'number');
    if (translator.has(`${key}.other`) && count !== undefined) return plural(key, count, error.vars);
    return t(translator.has(key) ? key : `error.${error.code}`, error.vars);
  };
  return { t, th, plural, errorText, locale };
}
