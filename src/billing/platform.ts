import { sql } from 'drizzle-orm';

/**
 * The platform's own organization (migrations/0017): the fee of every call of a provider's tool is
 * credited to its account, with a `fee` ledger row, in the statement that charges the call
 * (docs/adr/0020-provider-earnings.md). No wallet is its member; the operator reads it.
 */
export const PLATFORM_ORG_ID = '00000000-0000-0000-0000-000000000001';

/** The platform's org id as an SQL `uuid` literal: a constant, written into the money statements' text. */
export const PLATFORM_ORG = sql.raw(`'${PLATFORM_ORG_ID}'::uuid`);
