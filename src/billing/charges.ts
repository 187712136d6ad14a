import { type SQL, sql } from 'drizzle-orm';
import { PLATFORM_ORG } from './platform.js';
import { capLeft, countSpend, type PeriodValues } from './spend-caps.js';

/** The CTE of the calls a charge statement took and paid for; its task write reads from it. */
const PAID = sql`${sql.identifier('paid')}`;

export interface ChargeStatement {
  /**
   * The calls to pay for, with at least `(n int8, org_id uuid, key_id uuid, message_id text, cost int8,
   * provider_org_id uuid, provider_earning int8)`; `n` orders them. The provider's columns are both
   * null (the gateway's own tools) or both set, 0 ≤ provider_earning ≤ cost.
   */
  calls: SQL;
  /** the UTC day and month the charge counts in, for spend caps */
  periods: PeriodValues;
  /** Holds when the call `call` (a row of `calls`) carries a messageId its organization has not used. */
  messageIdUnused: (call: SQL) => SQL;
  /** Writes the tasks of the paid calls, read from `paid` (the columns of `calls`); returns `(id, org_id, cost, provider_org_id, provider_earning, …)`. */
  taskWrite: (paid: SQL) => SQL;
}

/**
 * Instant calls' settlement, ONE statement for one or many answered calls, of one organization or
 * several (docs/adr/0003-instant-calls-settle-in-one-charge.md). Run only once the answers exist: a
 * call without an answer is never charged.
 *
 * Under the row locks of every account it changes — the callers', and when a call is of a
 * provider's tool, the provider's and the platform's (docs/adr/0020-provider-earnings.md) — taken
 * in ONE org_id-ordered `for update`, so two such statements cannot deadlock whoever calls whose
 * tool; then of the calls' keys (a key is locked only by a statement that holds its organization's
 * account, so keys add no lock cycle), the statement, per calling organization,
 * - drops calls whose messageId the organization already used (the retry gets the first task),
 *   keeping the first of any duplicates among `calls`;
 * - walks the rest in order of `n`, taking each whose cost still fits what is left, after those
 *   taken before it, of the available credit (balance − reserved), of the organization's spend cap
 *   and of its key's spend cap (spend-caps.ts), so no call is refused that could be paid;
 * - takes their sum from the balance, counts it into the organization's and each key's spend, runs
 *   `taskWrite` for them, and writes one `charge` ledger row per task;
 * - for each taken call of a provider's tool, credits the provider with its `provider_earning` and
 *   the platform with the rest of the cost, one `earning` and one `fee` ledger row per task (either
 *   may be 0), so Σ charge = Σ earning + Σ fee over those tasks.
 * Each account is changed by ONE update row: what an organization spent as a caller and earned as a
 * provider (or as the platform) are summed per org first, as an UPDATE … FROM applies one joined row
 * per target and two updates of one row in one statement are not allowed. A group without a
 * provider's tool locks only its callers (the platform's row is not touched).
 * An insert that conflicts aborts the whole statement, so nothing is charged for it; the caller may
 * retry its calls one by one.
 */
export function chargeCalls(input: ChargeStatement): SQL {
  const { periods } = input;
  return sql`
    with recursive calls as (${input.calls}),
    account as (
      select c.org_id, c.balance - c.reserved as available,
             ${capLeft({ cap: sql`c.spend_cap_micro_usdc`, period: sql`c.spend_cap_period`, row: sql`c`, reserved: sql`c.reserved`, periods })} as cap_left
        from credit_accounts c
       -- an array (an InitPlan, read once): each locked row is then re-checked, under READ COMMITTED,
       -- against a plain value list, with no join to re-run for the row's latest version
       where c.org_id = any(array(select org_id from calls
                                  union all
                                  select provider_org_id from calls where provider_org_id is not null
                                  union all
                                  select ${PLATFORM_ORG} from calls where provider_org_id is not null))
       order by c.org_id
         for update
    ),
    capped_key as (
      select k.id, k.org_id,
             ${capLeft({ cap: sql`k.spend_cap_micro_usdc`, period: sql`k.spend_cap_period`, row: sql`k`, reserved: sql`k.reserved`, periods })} as cap_left
        from api_keys k
       where k.id in (select key_id from calls) and k.org_id in (select org_id from account)
       order by k.id
         for no key update
    ),
    fresh as (
      select *, row_number() over (partition by org_id order by n) as step
        from (select distinct on (org_id, message_id) * from calls c
               where ${input.messageIdUnused(sql.raw('c'))}
                 -- a provider's tool is paid for only where its earning and fee can be credited
                 and (c.provider_org_id is null
                      or (c.provider_org_id in (select org_id from account) and ${PLATFORM_ORG} in (select org_id from account)))
               order by org_id, message_id, n) as unused
    ),
    -- remaining: what the credit and the organization's cap both still allow (each call lowers
    -- both by its cost, so their least is all the walk needs); key_left: per capped key, its cap's rest.
    walk (org_id, step, remaining, key_left, taken) as (
      select a.org_id, 0::int8, least(a.available, coalesce(a.cap_left, a.available)),
             coalesce((select jsonb_object_agg(k.id::text, k.cap_left) from capped_key k
                        where k.org_id = a.org_id and k.cap_left is not null), '{}'::jsonb),
             false
        from account a
       where a.org_id in (select org_id from calls)
      union all
      select f.org_id, f.step,
             case when fit.ok then w.remaining - f.cost else w.remaining end,
             case when fit.ok and fit.key_left is not null
                  then jsonb_set(w.key_left, array[f.key_id::text], to_jsonb(fit.key_left - f.cost))
                  else w.key_left end,
             fit.ok
        from walk w join fresh f on f.org_id = w.org_id and f.step = w.step + 1
        cross join lateral (select (w.key_left ->> f.key_id::text)::int8 as key_left) key_cap
        cross join lateral (
          select f.cost <= w.remaining and (key_cap.key_left is null or f.cost <= key_cap.key_left) as ok, key_cap.key_left
        ) fit
    ),
    taken as (
      select f.* from fresh f join walk w using (org_id, step) where w.taken
    ),
    -- what each account spends (as a caller) and earns (as a provider, or as the platform), one row per org
    charge as (
      update credit_accounts c
         set balance = c.balance - per_org.spent + per_org.earned, ${countSpend(sql`c`, sql`per_org.spent`, periods)}, updated_at = now()
        from (select org_id, sum(spent)::int8 as spent, sum(earned)::int8 as earned
                from (select org_id, cost as spent, 0::int8 as earned from taken
                      union all
                      select provider_org_id, 0, provider_earning from taken where provider_org_id is not null
                      union all
                      select ${PLATFORM_ORG}, 0, cost - provider_earning from taken where provider_org_id is not null) as moves
               group by org_id) as per_org
       where c.org_id = per_org.org_id
   returning c.org_id
    ),
    -- in the calls' order: the tasks, and so their ledger rows, are written in it
    ${PAID} as (
      select taken.* from taken join charge using (org_id) order by taken.n
    ),
    key_spend as (
      update api_keys k
         set ${countSpend(sql`k`, sql`per_key.total`, periods)}
        from (select key_id, sum(cost) as total from ${PAID} group by key_id) as per_key
       where k.id = per_key.key_id
    ),
    work as (${input.taskWrite(PAID)}),
    entry as (
      insert into ledger_entries (org_id, kind, amount, reserved_delta, task_id)
      select work.org_id, 'charge'::ledger_kind, -work.cost, 0, work.id from work
      union all
      select work.provider_org_id, 'earning'::ledger_kind, work.provider_earning, 0, work.id from work where work.provider_org_id is not null
      union all
      select ${PLATFORM_ORG}, 'fee'::ledger_kind, work.cost - work.provider_earning, 0, work.id from work where work.provider_org_id is not null
    )
    select * from work`;
}
