import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SealedSecretError, createSecretBox, totpSecretBinding } from '../../src/methods/totp/secret-box.js';

const MASTER = 'a master secret of at least thirty-two bytes';
const PLAIN = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const BINDING = totpSecretBinding('user-1', 'device-1');

function expectRefused(open: () => string) {
  let error: unknown;
  try {
    open();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(SealedSecretError);
  expect((error as SealedSecretError).code).toBe('SEALED_SECRET_INVALID');
}

/** The sealed form with one bit of one byte of part `index` (1 iv, 2 ciphertext, 3 tag) flipped. */
function flip(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index]!, 'base64url');
  bytes[0]! ^= 0x01;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('createSecretBox', () => {
  const box = createSecretBox(MASTER);

  it('opens what it sealed', () => {
    expect(box.open(box.seal(PLAIN, BINDING), BINDING)).toBe(PLAIN);
    expect(box.open(box.seal('', BINDING), BINDING)).toBe('');
    expect(box.open(box.seal('ünïcødé ✓', BINDING), BINDING)).toBe('ünïcødé ✓');
  });

  it('opens with another box of the same master secret, given as a string or its bytes', () => {
    const sealed = box.seal(PLAIN, BINDING);
    expect(createSecretBox(MASTER).open(sealed, BINDING)).toBe(PLAIN);
    expect(createSecretBox(Buffer.from(MASTER, 'utf8')).open(sealed, BINDING)).toBe(PLAIN);
  });

  it('seals as v1.<iv>.<ciphertext>.<tag> in base64url: a 12-byte iv and a 16-byte tag', () => {
    const sealed = box.seal(PLAIN, BINDING);
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    const [, iv, ciphertext, tag] = sealed.split('.') as [string, string, string, string];
    expect(Buffer.from(iv, 'base64url')).toHaveLength(12);
    expect(Buffer.from(ciphertext, 'base64url')).toHaveLength(PLAIN.length);
    expect(Buffer.from(tag, 'base64url')).toHaveLength(16);
  });

  it('does not show the secret in the sealed form', () => {
    const sealed = box.seal(PLAIN, BINDING);
    expect(sealed).not.toContain(PLAIN);
    expect(sealed).not.toContain(PLAIN.slice(0, 8));
    expect(sealed).not.toContain(Buffer.from(PLAIN).toString('base64url').slice(0, 8));
  });

  it('seals one secret differently each time (a random iv)', () => {
    const first = box.seal(PLAIN, BINDING);
    const second = box.seal(PLAIN, BINDING);
    expect(first).not.toBe(second);
    expect(first.split('.')[1]).not.toBe(second.split('.')[1]);
  });

  it('refuses to open with another master secret', () => {
    const sealed = box.seal(PLAIN, BINDING);
    expectRefused(() => createSecretBox('another master secret of thirty-two bytes').open(sealed, BINDING));
    expectRefused(() => createSecretBox(randomBytes(32)).open(sealed, BINDING));
  });

  it('refuses to open for another user or device', () => {
    const sealed = box.seal(PLAIN, BINDING);
    expectRefused(() => box.open(sealed, totpSecretBinding('user-2', 'device-1')));
    expectRefused(() => box.open(sealed, totpSecretBinding('user-1', 'device-2')));
    expectRefused(() => box.open(sealed, ''));
  });

  it.each([
    [1, 'iv'],
    [2, 'ciphertext'],
    [3, 'tag'],
  ])('refuses a sealed form with a flipped bit in part %i (%s)', (index) => {
    expectRefused(() => box.open(flip(box.seal(PLAIN, BINDING), index), BINDING));
  });

  it.each([
    ['empty', () => ''],
    ['another version', (s: string) => s.replace(/^v1\./, 'v2.')],
    ['a part missing', (s: string) => s.split('.').slice(0, 3).join('.')],
    ['a part too many', (s: string) => `${s}.AAAA`],
    ['a truncated tag', (s: string) => s.slice(0, -4)],
    ['a short iv', (s: string) => s.replace(/^v1\.[\w-]{4}/, 'v1.')],
    ['a character outside base64url', (s: string) => `${s}!`],
    ['a non-canonical encoding', (s: string) => s.replace(/\.([\w-]+)$/, '.$1=')],
    ['not base64url at all', () => 'v1.???.???.???'],
  ])('refuses a sealed form with %s', (_, alter) => {
    expectRefused(() => box.open(alter(box.seal(PLAIN, BINDING)), BINDING));
  });

  it('keeps the reason as the cause, for logs', () => {
    try {
      box.open(box.seal(PLAIN, BINDING), 'elsewhere');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SealedSecretError);
      expect((error as Error).cause).toBeInstanceOf(Error);
      expect((error as Error).message).not.toContain(PLAIN);
    }
  });
});

describe('totpSecretBinding', () => {
  it('differs for ids that would run together with a separator', () => {
    expect(totpSecretBinding('a:b', 'c')).not.toBe(totpSecretBinding('a', 'b:c'));
    expect(totpSecretBinding('a', 'b')).not.toBe(totpSecretBinding('b', 'a'));
  });
});
