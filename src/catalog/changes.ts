import type { Database } from '../db/client.js';

/** The channel a catalog change is announced on, with the tool's name (docs/adr/0019). */
export const CATALOG_CHANGES = 'a2a_paygate_catalog_changes';

/**
 * Announces, in the caller's transaction, that a version of `name` was added or changed its status:
 * every gateway's live catalog reads that name again when the change commits, and nothing is
 * announced when it does not.
 */
export function announceCatalogChange(tx: Database, name: string): Promise<void> {
  return tx.notify(CATALOG_CHANGES, name);
}
