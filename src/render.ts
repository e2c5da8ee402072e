import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
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
  private readonly includes = new Map<string, string>();

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
    const filename = this.find(`${name}.ejs`);
    if (!filename) throw new Error(`express-mfa: template ${name}.ejs not found in ${this.roots.join(', ')}`);
    // EJS 7 takes unsafePrototypeLocals; @types/ejs (written for EJS 3) does not know it.
    const options: ejs.Options & { unsafePrototypeLocals: boolean } = {
      filename,
      // With one root as a string, EJS resolves '/partials/x' to a path
      // without looking at the disk; `includer` then names the real file
      // from a map made once. EJS alone searches every root with existsSync
      // on every include of every render.
      root: '/',
      includer: (path: string, found: string | undefined) => ({ filename: this.include(path, found) }),
      strict: true,
      localsName: 'it',
      // EJS copies each include's data already, and the top-level data is
      // made for each render: a third copy, key by key, on every include of
      // every page, was the larger part of rendering a page.
      unsafePrototypeLocals: true,
      // Includes are compiled once too. EJS's cache is keyed by file name, so
      // only one escaping may use it: partials are included by HTML templates.
      cache: escaping === 'html',
      ...(escaping === 'text' ? { escape: (value: unknown) => (value == null ? '' : String(value)) } : {}),
    };
    return ejs.compile(readFileSync(filename, 'utf8'), options) as Template;
  }

  /**
   * The file an `include(path)` names: a relative path EJS found beside the
   * including template stays; any other is looked up in the roots, app's
   * first, once per path.
   */
  private include(path: string, found: string | undefined): string {
    if (!path.startsWith('/') && found) return found;
    let file = this.includes.get(path);
    if (file === undefined) {
      const name = path.replace(/^\/+/, '');
      file = this.find(extname(name) ? name : `${name}.ejs`);
      if (!file) throw new Error(`express-mfa: included template ${path} not found in ${this.roots.join(', ')}`);
      this.includes.set(path, file);
    }
    return file;
  }

  private find(name: string): string | undefined {
    return this.roots.map((root) => join(root, name)).find((file) => existsSync(file));
  }
}
