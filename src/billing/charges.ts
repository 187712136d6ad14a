import { sql, type SQL } from 'drizzle-orm';

/**
 * Instant calls' settlement, ONE statement for one or many answered calls of one organization
 * (docs/adr/0003-instant-calls-settle-in-one-charge.md). Run only once the answers exist: a call
 * without an answer is never charged.
 *
 * `calls` is a query of the calls to pay for, with at least `(n int, message_id text, cost int8)`;
 * `n` orders them. Under the account's row lock the statement
 * - drops calls whose messageId this organization already used (the retry gets the first task),
 *   keeping the first of any duplicates among `calls`;
 * - walks the rest in order of `n`, taking each whose cost still fits the available credit
 *   (balance − reserved) left by those taken before it, so no call is refused that could be paid;
 * - takes the sum from the balance, runs `taskWrite` for the taken calls, and writes one `charge`
 *   ledger row per task.
 * `taskWrite` MUST read the taken calls from the CTE named `paid` (all columns of `calls` plus
 * `org_id`) and return `(id, org_id, cost, …)`. An insert that conflicts aborts the whole statement,
 * so nothing is charged for it; the caller may retry its calls one by one.
 */
export function chargeCalls(input: { orgId: string; calls: SQL; taskWrite: SQL }): SQL {
  return sql`
    with recursive calls as (${input.calls}),
    account as (
      select org_id, balance - reserved as available from credit_accounts where org_id = ${input.orgId} for update
    ),
    fresh as (
      select *, row_number() over (order by n) as step
        from (select distinct on (message_id) * from calls c
               where not exists (select 1 from tasks t
                                  where t.org_id = ${input.orgId}
                                    and (t.message_id = c.message_id or t.call_message_id = c.message_id))
               order by message_id, n) as unused
    ),
    walk (step, remaining, taken) as (
      select 0::int8, available, false from account
      union all
      select f.step, case when f.cost <= w.remaining then w.remaining - f.cost else w.remaining end, f.cost <= w.remaining
        from walk w join fresh f on f.step = w.step + 1
    ),
    charge as (
      update credit_accounts
         set balance = balance - (select sum(f.cost) from fresh f join walk w using (step) where w.taken), updated_at = now()
       where org_id = ${input.orgId} and exists (select 1 from walk where taken)
   returning org_id
    ),
    paid as (
      select f.*, charge.org_id from fresh f join walk w using (step) cross join charge where w.taken
    ),
    work as (${input.taskWrite}),
    entry as (
      insert into ledger_entries (org_id, kind, amount, reserved_delta, task_id)
      select work.org_id, 'charge'::ledger_kind, -work.cost, 0, work.id from work
    )
    select * from work`;
}
