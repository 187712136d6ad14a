import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { ledgerKind } from '../../drizzle/schema.js';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';

/** the database's ledger_kind enum, so a kind cannot be added in one place and missed in the other */
export const LEDGER_KINDS = ledgerKind.enumValues;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

const LedgerEntryRow = z.object({
  id: z.bigint(),
  kind: z.enum(LEDGER_KINDS),
  amount: z.bigint(),
  reservedDelta: z.bigint(),
  taskId: z.string().nullable(),
  /** the tool of the row's task; of an `earning` or `fee` row, the task is the caller's, and only its tool is read */
  tool: z.string().nullable(),
  reason: z.string().nullable(),
  createdAt: z.string(),
});
export type LedgerEntry = z.output<typeof LedgerEntryRow>;

export interface LedgerQuery {
  kinds?: readonly LedgerKind[];
  from?: Date;
  to?: Date;
  /** entries older than this id (the cursor of the page before) */
  beforeId?: bigint;
  limit: number;
}

function ledgerWhere(orgId: string, query: Omit<LedgerQuery, 'limit' | 'beforeId'>): SQL {
  const conditions = [sql`org_id = ${orgId}`];
  if (query.kinds?.length)
    conditions.push(
      sql`kind::text in (${sql.join(
        query.kinds.map((kind) => sql`${kind}`),
        sql`, `,
      )})`,
    );
  if (query.from) conditions.push(sql`created_at >= ${query.from.toISOString()}::timestamptz`);
  if (query.to) conditions.push(sql`created_at < ${query.to.toISOString()}::timestamptz`);
  return sql.join(conditions, sql` and `);
}

/** One page of the organization's ledger, newest first. */
export async function listLedger(db: Database, orgId: string, query: LedgerQuery): Promise<LedgerEntry[]> {
  return db.replica.rows(
    LedgerEntryRow,
    sql`
    select id, kind::text as kind, amount, reserved_delta as "reservedDelta", task_id as "taskId",
           (select t.tool from tasks t where t.id = ledger_entries.task_id) as tool, reason,
           ${isoUtc(sql`created_at`)} as "createdAt"
      from ledger_entries
     where ${ledgerWhere(orgId, query)} ${query.beforeId === undefined ? sql`` : sql`and id < ${query.beforeId}`}
     order by id desc
     limit ${query.limit}`,
  );
}
