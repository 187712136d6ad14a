import type { Database } from '../db/client.js';

/** The channel every change to who a key is or what it may do is announced on (docs/adr/0016). */
export const KEY_CHANGES = 'a2a_paygate_key_changes';

/**
 * Announces, in the caller's transaction, that the key or organization `id` changed (a key revoked,
 * a key's or an organization's policy set): every gateway's key cache drops what it holds of it
 * when the change commits, and nothing is announced when it does not.
 */
export function announceKeyChange(tx: Database, id: string): Promise<void> {
  return tx.notify(KEY_CHANGES, id);
}
