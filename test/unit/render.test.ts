import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Renderer } from '../../src/render.js';

const dirs: string[] = [];
function appViews(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-views-'));
  dirs.push(dir);
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), body);
  }
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('Renderer', () => {
  it("takes an app's partials before the library's, inside the library's own template", () => {
    const views = appViews({
      'partials/email-layout-top.ejs': '[top]',
      'partials/email-code.ejs': '[code <%= it.code %>]',
      'partials/email-layout-bottom.ejs': '[bottom]',
    });
    const locals = { code: '123456', t: (key: string) => key };
    const html = new Renderer([views]).render('emails/signon.html', locals);
    expect(html).toContain('[top]');
    expect(html).toContain('[code 123456]');
    expect(html).toContain('email.signon.yourCode');
  });

  it('takes the first root that has the file', () => {
    const first = appViews({ 'page.ejs': "<%- include('/partials/x') %>", 'partials/x.ejs': 'first' });
    const second = appViews({ 'partials/x.ejs': 'second', 'partials/y.ejs': 'only second' });
    expect(new Renderer([first, second]).render('page', {})).toBe('first');
    expect(new Renderer([second, first]).render('page', {})).toBe('second');
  });

  it('resolves an app template\'s relative include beside it, and its absolute one in the roots', () => {
    const views = appViews({
      'pages/mine.ejs': "<%- include('bits/part') %>|<%- include('/partials/own') %>",
      'pages/bits/part.ejs': 'beside',
      'partials/own.ejs': 'rooted',
    });
    expect(new Renderer([views]).render('pages/mine', {})).toBe('beside|rooted');
  });

  it('names the missing include', () => {
    const views = appViews({ 'broken.ejs': "<%- include('/partials/nowhere') %>" });
    expect(() => new Renderer([views]).render('broken', {})).toThrow(/partials\/nowhere not found/);
  });

  it('looks at the disk once per include, not on every render', () => {
    const views = appViews({ 'twice.ejs': "<%- include('/partials/x') %><%- include('/partials/x') %>", 'partials/x.ejs': 'x' });
    const renderer = new Renderer([views]);
    expect(renderer.render('twice', {})).toBe('xx');
    // Gone from the disk, still rendered: nothing looked for it again.
    rmSync(join(views, 'partials', 'x.ejs'));
    expect(renderer.render('twice', {})).toBe('xx');
  });
});
