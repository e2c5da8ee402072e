import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ejs from 'ejs';

/** The library's own templates, shipped beside dist/ and src/. */
export const LIBRARY_VIEWS = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'views');

type Template = (data: Record<string, unknown>) => string;

/**
 * Renders EJS templates by name, looking in the app's folders before the
 * library's, so that an app replaces any page, partial or email by a file of
 * the same name. Each template is compiled once.
 */
export class Renderer {
  private readonly roots: string[];
  private readonly compiled = new Map<string, Template>();

  constructor(appViews: string[]) {
    this.roots = [...appViews.map((v) => resolve(v)), LIBRARY_VIEWS];
  }

  /** `html` escapes values for HTML; `text` leaves them as they are (plain-text email, subjects). */
  render(name: string, data: Record<string, unknown>, escaping: 'html' | 'text' = 'html'): string {
    const key = `${escaping}:${name}`;
    let template = this.compiled.get(key);
    if (!template) {
      template = this.compile(name, escaping);
      this.compiled.set(key, template);
    }
    return template(data);
  }

  private compile(name: string, escaping: 'html' | 'text'): Template {
    const filename = this.roots.map((root) => join(root, `${name}.ejs`)).find((file) => existsSync(file));
    if (!filename) throw new Error(`express-mfa: template ${name}.ejs not found in ${this.roots.join(', ')}`);
    return ejs.compile(readFileSync(filename, 'utf8'), {
      filename,
      root: this.roots,
      views: this.roots,
      strict: true,
      localsName: 'it',
      // Includes are compiled once too. EJS's cache is keyed by file name, so
      // only one escaping may use it: partials are included by HTML templates.
      cache: escaping === 'html',
      ...(escaping === 'text' ? { escape: (value: unknown) => (value == null ? '' : String(value)) } : {}),
    }) as Template;
  }
}
