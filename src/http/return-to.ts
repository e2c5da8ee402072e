/**
 * A returnTo value that is safe to redirect to: a path on this origin, or
 * undefined. Checked when it is used, not when it is stored, since anything
 * in the session may have been put there by another part of the app.
 */
export function safeReturnTo(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return undefined;
  // Browsers treat '\' as '/' and drop tabs and newlines, so '/\evil' or '/\t/evil' is '//evil'.
  if (!value.startsWith('/') || /[\\\u0000-\u001f\u007f]/.test(value)) return undefined;
  let decoded = value;
  for (let i = 0; i < 3; i++) {
    if (/^\/[/\\]/.test(decoded) || /[\\\u0000-\u001f\u007f]/.test(decoded)) return undefined;
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return undefined;
    }
    if (next === decoded) break;
    decoded = next;
  }
  if (/^\/[/\\]/.test(decoded)) return undefined;
  const base = 'http://return-to.invalid';
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    return undefined;
  }
  if (url.origin !== base) return undefined;
  // The parser removes dot segments: '/.//evil' comes out as '//evil'.
  const path = url.pathname + url.search + url.hash;
  return /^\/[/\\]/.test(path) ? undefined : path;
}
