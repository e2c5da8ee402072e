/**
 * The parts keep to their layers (DESIGN, "Parts"): a method is a folder
 * under src/methods/ that only the registry wires in; Express stops at
 * src/http/; Redis and PostgreSQL at src/stores/. A file that crosses a line
 * fails here with its name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const sources = files(SRC).map((file) => ({ path: relative(SRC, file).replaceAll('\\', '/'), text: readFileSync(file, 'utf8') }));
const importsOf = (text: string) => [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
const METHOD_FOLDERS = readdirSync(join(SRC, 'methods'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

describe('layers', () => {
  it('no file outside src/methods/ names a method type or reaches into one method\'s folder (but for option types and address checks)', () => {
    const allowed: Record<string, string[]> = {
      // The public option types of each method, re-exported.
      'config/options.ts': ['methods/email/options.js', 'methods/totp/options.js', 'methods/phone/options.js'],
      // The public error of a sealed secret that does not open.
      'index.ts': ['methods/totp/secret-box.js'],
      // Every mail, notices too, goes to a checked address.
      'delivery/email.ts': ['methods/email/address.js'],
    };
    const crossings = sources
      .filter((s) => !s.path.startsWith('methods/'))
      .flatMap((s) => importsOf(s.text)
        .map((spec) => spec.replace(/^(\.\.\/)+|^\.\//, ''))
        .filter((spec) => METHOD_FOLDERS.some((m) => m !== 'code' && spec.startsWith(`methods/${m}/`)) && !spec.startsWith('methods/recovery/'))
        .filter((spec) => !(allowed[s.path] ?? []).includes(spec))
        .map((spec) => `${s.path} imports ${spec}`));
    expect(crossings).toEqual([]);
    const named = sources
      .filter((s) => !s.path.startsWith('methods/'))
      .filter((s) => /(['"])(totp|fido2|sms|voice)\1|type\s*===?\s*'email'|type:\s*'email'/.test(s.text.replace(/\/\*\*[\s\S]*?\*\/|\/\/.*$/gm, '')))
      .map((s) => s.path);
    expect(named).toEqual([]);
  });

  it('Express stops at src/http/ (and the wiring in mfa.ts), Redis at src/stores/', () => {
    const express = sources.filter((s) => importsOf(s.text).some((spec) => spec === 'express' || spec === 'express-session'));
    expect(express.map((s) => s.path).filter((p) => !p.startsWith('http/') && p !== 'mfa.ts')).toEqual([]);
    const redis = sources.filter((s) => importsOf(s.text).some((spec) => spec === 'redis' || spec === 'pg'));
    expect(redis.map((s) => s.path).filter((p) => !p.startsWith('stores/'))).toEqual([]);
  });
});
