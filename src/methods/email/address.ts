import { ValidationError } from '../../core/errors.js';

// One plain address: no display name, no comments, no quoting, no list. That
// rules out header injection (CR/LF) and extra recipients (',' ';' '<').
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** The address in canonical form (domain lower-cased), or a ValidationError. */
export function parseEmailAddress(input: unknown, field = 'email'): string {
  const invalid = () => new ValidationError('Enter one email address, such as name@example.com.', field);
  if (typeof input !== 'string') throw invalid();
  const value = input.trim();
  if (value.length === 0 || value.length > 254 || /[\u0000-\u001f\u007f]/.test(value)) throw invalid();
  const at = value.lastIndexOf('@');
  if (at <= 0 || value.indexOf('@') !== at) throw invalid();
  const local = value.slice(0, at);
  const domain = value.slice(at + 1).toLowerCase();
  const labels = domain.split('.');
  if (local.length > 64 || !LOCAL.test(local)) throw invalid();
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || !/^[a-z][a-z0-9-]*$/.test(labels.at(-1)!)) throw invalid();
  return `${local}@${domain}`;
}

/** 'jane.doe@example.com' → 'j••••••e@example.com': enough to recognise, not to harvest. */
export function maskEmailAddress(address: string): string {
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const hidden = local.length <= 2 ? '•••' : '•'.repeat(Math.min(local.length - 2, 8));
  const shown = local.length <= 2 ? local[0]! : `${local[0]}${hidden}${local.at(-1)}`;
  return `${local.length <= 2 ? shown + hidden : shown}${address.slice(at)}`;
}
