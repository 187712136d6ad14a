import { z } from 'zod';

/**
 * The longest identifier a client may send (messageId, contextId, taskId, push config id, tenant,
 * page token …), in UTF-16 code units. Identifiers are indexed: one past PostgreSQL's B-tree entry
 * limit (about 2.7 KB) fails the statement that stores it, and a statement may carry other callers'
 * work (charge-combiner.ts). 200 code units are at most 600 bytes of UTF-8, far inside that limit.
 */
export const MAX_IDENTIFIER_LENGTH = 200;

/** The longest URI a client may name (an extension); webhook URLs have their own check. */
const MAX_URI_LENGTH = 2048;

/** How many entries one list param (referenceTaskIds, extensions) may hold. */
const MAX_LIST_ENTRIES = 32;

/** A client-sent identifier, at most MAX_IDENTIFIER_LENGTH (callers add `.min(1)` where empty is wrong). */
export function identifier(name: string) {
  return z.string().max(MAX_IDENTIFIER_LENGTH, `${name} is longer than ${MAX_IDENTIFIER_LENGTH} characters`);
}

/** A list of client-sent identifiers, bounded in count and length. */
export function identifierList(name: string) {
  return z.array(identifier(name)).max(MAX_LIST_ENTRIES, `${name} holds more than ${MAX_LIST_ENTRIES} entries`);
}

/** A list of client-sent URIs (message extensions), bounded in count and length. */
export function uriList(name: string) {
  return z
    .array(z.string().max(MAX_URI_LENGTH, `${name} entries are at most ${MAX_URI_LENGTH} characters`))
    .max(MAX_LIST_ENTRIES, `${name} holds more than ${MAX_LIST_ENTRIES} entries`);
}
