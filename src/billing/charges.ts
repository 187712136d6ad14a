import { type SQL, sql } from 'drizzle-orm';

/** The CTE of the calls a charge statement took and paid for; its task write reads from it. */
const PAID = sql`${sql.identifier('paid')}`;

export interface ChargeStatement {
  /** The calls to pay for, with at least `(n int8, org_id uuid, message_id text, cost int8)`; `n` orders them. */
  calls: SQL;
  /** Holds when the call `call` (a row of `calls`) carries a messageId its organization has not used. */
  messageIdUnused: (call: SQL) => SQL;
  /** Writes the tasks of the paid calls, read from `paid` (the columns of `calls`); returns `(id, org_id, cost, …)`. */
  taskWrite: (paid: SQL) => SQL;
}

/**
 * Instant calls' settlement, ONE statement for one or many answered calls, of one organization or
 * several (docs/adr/0003-instant-calls-settle-in-one-charge.md). Run only once the answers exist: a
 * call without an answer is never charged.
 *
 * Under the row locks of the organizations' accounts (taken in org_id
 * order, so two such statements cannot deadlock) the statement, per organization,
 * - drops calls whose messageId the organization already used (the retry gets the first task),
 *   keeping the first of any duplicates among `calls`;
 * - walks the rest in order of `n`, taking each whose cost still fits the available credit
 *   (balance − reserved) left by those taken before it, so no call is refused that could be paid;
 * - takes their sum from the balance, runs `taskWrite` for them, and writes one `charge` ledger row
 *   per task.
 * An insert that conflicts aborts the whole statement, so nothing is charged for it; the caller may
 * retry its calls one by one.
 */
export function chargeCalls(input: ChargeStatement): SQL {
  return sql`
    with recursive calls as (${input.calls}),
    account as (
      select org_id, balance - reserved as available from credit_accounts
       where org_id in (select org_id from calls)
       order by org_id
         for update
    ),
    fresh as (
      select *, row_number() over (partition by org_id order by n) as step
        from (select distinct on (org_id, message_id) * from calls c
               where ${input.messageIdUnused(sql.raw('c'))}
               order by org_id, message_id, n) as unused
    ),
    walk (org_id, step, remaining, taken) as (
      select org_id, 0::int8, available, false from account
      union all
      select f.org_id, f.step,
             case when f.cost <= w.remaining then w.remaining - f.cost else w.remaining end, f.cost <= w.remaining
        from walk w join fresh f on f.org_id = w.org_id and f.step = w.step + 1
    ),
    taken as (
      select f.* from fresh f join walk w using (org_id, step) where w.taken
    ),
    charge as (
      update credit_accounts c
         set balance = c.balance - per_org.total, updated_at = now()
        from (select org_id, sum(cost) as total from taken group by org_id) as per_org
       where c.org_id = per_org.org_id
   returning c.org_id
    ),
    ${PAID} as (
      select taken.* from taken join charge using (org_id)
    ),
    work as (${input.taskWrite(PAID)}),
    entry as (
      insert into ledger_entries (org_id, kind, amount, reserved_delta, task_id)
      select work.org_id, 'charge'::ledger_kind, -work.cost, 0, work.id from work
    )
    select * from work`;
}
