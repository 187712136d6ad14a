import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { PLATFORM_ORG_ID } from './platform.js';

/**
 * What providers earned from their tools, and what the platform took in fees
 * (docs/adr/0020-provider-earnings.md), read from the ledger: each paid call of a provider's tool
 * left one `earning` row on the provider's account and one `fee` row on the platform's, beside the
 * caller's `charge` (or `capture`), with the caller's task id. Only the task's tool and price are
 * read from it: never its organization, arguments or answer.
 */

export type EarningsDimension = 'tool' | 'day';

const EarningsRowSchema = z.object({
  /** the tool name or the UTC day (YYYY-MM-DD) the earning was credited */
  key: z.string(),
  /** paid calls */
  calls: z.number(),
  /** what their callers paid */
  gross: z.bigint(),
  /** what the account was credited: the earnings, or on the platform's account the fees */
  credited: z.bigint(),
});
export type EarningsRow = z.output<typeof EarningsRowSchema>;

export interface EarningsQuery {
  by: EarningsDimension;
  /** the credits' time range: from inclusive, to exclusive */
  from?: Date;
  to?: Date;
}

/**
 * The `kind` ledger rows of `orgId` in [from, to), with their tasks' tool and price, summed by tool
 * or by the UTC day they were credited. One statement: the ledger's (org_id, created_at) index,
 * then each row's task by its key.
 */
export function earningsStatement(orgId: string, kind: 'earning' | 'fee', query: EarningsQuery): SQL {
  const key = query.by === 'tool' ? sql`t.tool` : sql`to_char((l.created_at at time zone 'UTC')::date, 'YYYY-MM-DD')`;
  return sql`
    select ${key} as key, count(*)::int as calls, sum(t.cost)::int8 as gross, sum(l.amount)::int8 as credited
      from ledger_entries l join tasks t on t.id = l.task_id
     where l.org_id = ${orgId} and l.kind = ${kind}::ledger_kind
       and l.created_at >= ${query.from?.toISOString() ?? '-infinity'}::timestamptz
       and l.created_at < ${query.to?.toISOString() ?? 'infinity'}::timestamptz
     group by 1
     order by 1`;
}

/** A provider's earnings by tool or day: calls, what callers paid, and what it was credited (the rest is the platform's fee). */
export async function earningsBy(db: Database, orgId: string, query: EarningsQuery): Promise<EarningsRow[]> {
  return db.replica.rows(EarningsRowSchema, earningsStatement(orgId, 'earning', query));
}

/** The platform's fees by tool or day, for the operator: `credited` is the fee. */
export async function platformFeesBy(db: Database, query: EarningsQuery): Promise<EarningsRow[]> {
  return db.replica.rows(EarningsRowSchema, earningsStatement(PLATFORM_ORG_ID, 'fee', query));
}
