import { BadRequestError, MfaError, ValidationError } from '../core/errors.js';

/**
 * The client's mistake among errors of the layers below the library, as a
 * typed MfaError: body-parser, Express's router (a URIError for a bad path
 * parameter) and http-errors all give theirs a 4xx `status` or `statusCode`.
 * Anything else (an MfaError, an outage, a bug) is no mistake of the client's.
 */
export function clientMistake(error: unknown): MfaError | undefined {
  if (error instanceof MfaError || typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode, type } = error as { status?: unknown; statusCode?: unknown; type?: unknown };
  const code = typeof status === 'number' ? status : statusCode;
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 400 || code > 499) return undefined;
  // An unreadable JSON or form body keeps the code the API has always given it.
  if (type === 'entity.parse.failed') return new ValidationError('The request body could not be read.');
  return new BadRequestError(code, error);
}

/** One line for the log: body-parser's stable `type` (or the error's name) and its message, quoted. */
export function describeMistake(error: unknown): string {
  const { type, name, message } = error as { type?: unknown; name?: unknown; message?: unknown };
  return `${String(typeof type === 'string' ? type : name)} ${JSON.stringify(String(message))}`;
}
