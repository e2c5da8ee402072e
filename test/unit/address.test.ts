import { describe, expect, it } from 'vitest';
import { maskEmailAddress, parseEmailAddress } from '../../src/methods/email/address.js';
import { ValidationError } from '../../src/core/errors.js';

function refusal(input: unknown, field?: string): ValidationError {
  try {
    parseEmailAddress(input, field);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('parseEmailAddress', () => {
  it('returns the address with the domain lower-cased and the local part kept', () => {
    expect(parseEmailAddress('Jane.Doe@Example.COM')).toBe('Jane.Doe@example.com');
    expect(parseEmailAddress('  bob@example.test \t')).toBe('bob@example.test');
    expect(parseEmailAddress("o'hara+mfa@mail.example-host.co.uk")).toBe("o'hara+mfa@mail.example-host.co.uk");
    expect(parseEmailAddress('x@xn--bcher-kva.example')).toBe('x@xn--bcher-kva.example');
  });

  it.each([
    ['not a string', 42],
    ['undefined', undefined],
    ['empty', ''],
    ['blank', '   '],
    ['no @', 'bob.example.test'],
    ['two @', 'bob@home@example.test'],
    ['empty local part', '@example.test'],
    ['no dot in the domain', 'bob@localhost'],
    ['a numeric top-level domain', 'bob@10.0.0.1'],
    ['a label starting with a hyphen', 'bob@-example.test'],
    ['an empty label', 'bob@example..test'],
    ['a leading dot', '.bob@example.test'],
    ['two dots in a row', 'bo..b@example.test'],
    ['a space', 'bob smith@example.test'],
    ['a quoted local part', '"bob"@example.test'],
    ['a display name', 'Bob <bob@example.test>'],
    ['a list with a comma', 'bob@example.test,eve@evil.test'],
    ['a list with a semicolon', 'bob@example.test;eve@evil.test'],
    ['a header injected with CRLF', 'bob@example.test\r\nBcc: eve@evil.test'],
    ['a bare LF', 'bob@example.test\nBcc: eve@evil.test'],
    ['a NUL', 'bob@example.test\u0000'],
    ['a local part over 64 characters', `${'a'.repeat(65)}@example.test`],
    ['an address over 254 characters', `bob@${'a'.repeat(62)}.${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(62)}.test`],
    ['a label over 63 characters', `bob@${'a'.repeat(64)}.test`],
  ])('refuses %s', (_label, input) => {
    const error = refusal(input);
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.field).toBe('email');
    expect(error.message).toBe('Enter one email address, such as name@example.com.');
  });

  it('names the field it was given', () => {
    expect(refusal('nope', 'to').details()).toEqual({ field: 'to' });
  });
});

describe('maskEmailAddress', () => {
  it('shows the first and last character of the local part and the whole domain', () => {
    expect(maskEmailAddress('jane.doe@example.com')).toBe('j••••••e@example.com');
    expect(maskEmailAddress('bob@example.test')).toBe('b•b@example.test');
  });

  it('hides at most 8 characters, so that a long local part does not give its length away', () => {
    expect(maskEmailAddress(`a${'x'.repeat(30)}z@example.test`)).toBe('a••••••••z@example.test');
  });

  it('never shows a one- or two-character local part whole', () => {
    expect(maskEmailAddress('a@example.test')).toBe('a•••@example.test');
    expect(maskEmailAddress('ab@example.test')).toBe('a•••@example.test');
  });

  it('masks what parseEmailAddress returns', () => {
    const masked = maskEmailAddress(parseEmailAddress('Alice.Work@Example.Test'));
    expect(masked).toBe('A••••••••k@example.test');
    expect(masked).not.toContain('lice');
  });
});
