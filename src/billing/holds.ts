import { type SQL, sql } from 'drizzle-orm';

/** The CTE of a placed hold: one row `(org_id)` when the hold was placed, none otherwise. */
const HOLD = sql`${sql.identifier('hold')}`;

export interface HoldStatement {
  orgId: string;
  cost: bigint;
  /**
   * Writes the held task, read from `hold` (e.g. `insert … select … from ${hold}`); returns exactly
   * one row `(id, org_id, …)` whenever `hold` has one.
   */
  taskWrite: (hold: SQL) => SQL;
  /** A condition the hold also requires (e.g. that a task still waits for input), under its row lock. */
  guard?: SQL;
}

/**
 * Reserve, capture and release, each one SQL statement: the task write, the account change and
 * the ledger row commit together or not at all, in a single round trip.
 *
 * `reserveWith` places a hold of `cost` on the organization's available credit
 * (balance − reserved ≥ cost, re-checked under the row lock, so concurrent holds can never
 * overdraw) and runs `taskWrite` only if the hold was placed. An insert that conflicts aborts the
 * whole statement, which is what makes a duplicate messageId free of charge.
 */
export function reserveWith(input: HoldStatement): SQL {
  return sql`
    with ${HOLD} as (
      update credit_accounts
         set reserved = reserved + ${input.cost}, updated_at = now()
       where org_id = ${input.orgId}
         and balance - reserved >= ${input.cost}
         ${input.guard ? sql`and ${input.guard}` : sql``}
   returning org_id
    ), work as (${input.taskWrite(HOLD)}),
    entry as (
      insert into ledger_entries (org_id, kind, amount, reserved_delta, task_id)
      select work.org_id, 'reserve'::ledger_kind, 0, ${input.cost}, work.id from work
    )
    select * from work`;
}

/**
 * Settles the holds of the tasks that `taskWrite` moves out of `working`: `capture` takes the cost
 * from the balance, `release` gives the reservation back. `taskWrite` is an
 * `update tasks … where state = 'working' returning id, org_id, cost, …` of one task or many;
 * amounts are summed per organization because an UPDATE … FROM applies one joined row per account.
 * A task that already left `working` (cancelled, recovered) matches nothing and moves no money.
 */
export function settleWith(kind: 'capture' | 'release', taskWrite: SQL, reason?: string): SQL {
  const balanceDelta = kind === 'capture' ? sql`work.cost` : sql`0`;
  return sql`
    with work as (${taskWrite}),
    per_org as (
      select org_id, sum(${balanceDelta})::int8 as taken, sum(work.cost)::int8 as held
        from work where work.cost > 0 group by org_id
    ),
    settled as (
      update credit_accounts c
         set balance = c.balance - per_org.taken, reserved = c.reserved - per_org.held, updated_at = now()
        from per_org
       where c.org_id = per_org.org_id
   returning c.org_id
    ),
    entry as (
      insert into ledger_entries (org_id, kind, amount, reserved_delta, task_id, reason)
      select work.org_id, ${kind}::ledger_kind, -${balanceDelta}, -work.cost, work.id, ${reason ?? null}
        from work where work.cost > 0
    )
    select * from work`;
}
