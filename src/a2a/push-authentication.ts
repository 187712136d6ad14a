import { z } from 'zod';

/**
 * The parts of a push config's `authentication` that go into each delivery's
 * `Authorization: <scheme> <credentials>` header: checked here so no caller value can break the
 * header (CR/LF, non-ASCII) or grow it without bound.
 */

/** An HTTP authentication scheme name (RFC 9110 token): Bearer, Basic, Digest … */
export const pushAuthScheme = z
  .string()
  .max(64, 'authentication scheme: at most 64 characters')
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'authentication scheme must be an HTTP auth-scheme name such as Bearer or Basic');

export const MAX_PUSH_CREDENTIALS = 4096;

/** Credentials as they go after the scheme: visible ASCII and spaces, at most 4 KB. */
export const pushCredentials = z
  .string()
  .max(MAX_PUSH_CREDENTIALS, `authentication credentials: at most ${MAX_PUSH_CREDENTIALS} characters`)
  .regex(/^[\x20-\x7e]*$/, 'authentication credentials must be printable ASCII (they travel in an HTTP header)');
