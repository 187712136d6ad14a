import { type SQL, sql } from 'drizzle-orm';
import { PLATFORM_ORG } from './platform.js';
import { capLeft, countSpend, type SpendPeriods } from './spend-caps.js';

/** The CTE of a placed hold: one row `(org_id)` when the hold was placed, none otherwise. */
const HOLD = sql`${sql.identifier('hold')}`;

export interface HoldStatement {
  orgId: string;
  /** the key making the call: its spend cap bounds the hold, and its counters hold the reservation */
  keyId: string;
  cost: bigint;
  /** the UTC day and month the hold counts in, for spend caps */
  periods: SpendPeriods;
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
 * (balance − reserved ≥ cost) that also fits what the organization's and the key's spend caps
 * leave (spend-caps.ts), all read under the row locks of the account and then the key, so
 * concurrent holds can never overdraw or pass a cap, and runs `taskWrite` only if the hold was
 * placed. The guard is evaluated before the account row is locked, as the task write's lock on a
 * task row comes before its account in every other statement (a settle, a cancel). An insert that
 * conflicts aborts the whole statement, which is what makes a duplicate messageId free of charge.
 */
export function reserveWith(input: HoldStatement): SQL {
  const { periods } = input;
  return sql`
    with account as (
      select c.org_id, c.balance - c.reserved as available,
             ${capLeft({ cap: sql`c.spend_cap_micro_usdc`, period: sql`c.spend_cap_period`, row: sql`c`, reserved: sql`c.reserved`, periods })} as cap_left
        from credit_accounts c
       where c.org_id = ${input.orgId}
         ${input.guard ? sql`and ${input.guard}` : sql``}
         for update
    ),
    capped_key as (
      select k.id,
             ${capLeft({ cap: sql`k.spend_cap_micro_usdc`, period: sql`k.spend_cap_period`, row: sql`k`, reserved: sql`k.reserved`, periods })} as cap_left
        from api_keys k
       where k.id = ${input.keyId} and k.org_id in (select org_id from account)
         for no key update
    ),
    ${HOLD} as (
      update credit_accounts c
         set reserved = c.reserved + ${input.cost}, updated_at = now()
        from account a
       where c.org_id = a.org_id
         and ${input.cost} <= a.available
         and (a.cap_left is null or ${input.cost} <= a.cap_left)
         and not exists (select 1 from capped_key k where ${input.cost} > k.cap_left)
   returning c.org_id
    ),
    key_hold as (
      update api_keys k set reserved = k.reserved + ${input.cost}
       where k.id = ${input.keyId} and k.org_id in (select org_id from ${HOLD})
    ),
    work as (${input.taskWrite(HOLD)}),
    entry as (
      insert into ledger_entries (org_id, kind, amount, reserved_delta, task_id)
      select work.org_id, 'reserve'::ledger_kind, 0, ${input.cost}, work.id from work
    )
    select * from work`;
}

/**
 * Settles the holds of the tasks that `taskWrite` moves out of `working`: `capture` takes the cost
 * from the balance and counts it as spent (for spend caps) in `periods`, and for a task of a
 * provider's tool credits the provider with its `provider_earning` and the platform with the rest
 * (one `earning` and one `fee` ledger row beside the `capture`, docs/adr/0020-provider-earnings.md);
 * `release` gives the reservation back (`reason` on its ledger rows) and moves no earnings.
 * `taskWrite` is an `update tasks … where state = 'working' returning id, org_id, api_key_id, cost,
 * provider_org_id, provider_earning, …` (TASK_COLUMNS) of one task or many.
 *
 * Lock order: the task rows first (`taskWrite` locks them), then every account the statement
 * changes in ONE org_id-ordered `for update` (the caller's, and on capture the provider's and the
 * platform's), then the keys (they read `settled`). The accounts are taken in the order the charge
 * statement takes them (charges.ts), and no statement that holds an account waits for a task row
 * another settlement holds, so captures of one provider's tools, charges and other settlements
 * cannot deadlock; a sweep over many organizations (recovery.ts) takes its accounts in that order
 * too. Amounts are summed per organization (a caller that is also the provider is one row) and per
 * key because an UPDATE … FROM applies one joined row per target. A task that already left
 * `working` (cancelled, recovered) matches nothing and moves no money.
 */
export function settleWith(kind: 'capture', taskWrite: SQL, input: { periods: SpendPeriods }): SQL;
export function settleWith(kind: 'release', taskWrite: SQL, input?: { reason?: string }): SQL;
export function settleWith(kind: 'capture' | 'release', taskWrite: SQL, input: { periods?: SpendPeriods; reason?: string } = {}): SQL {
  const balanceDelta = kind === 'capture' ? sql`work.cost` : sql`0`;
  const ofProvider = sql`work.cost > 0 and work.provider_org_id is not null`;
  return sql`
    with work as (${taskWrite}),
    per_org as (
      -- spent: taken from the balance and counted as spent; earned: credited; held: the reservation settled
      select org_id, sum(spent)::int8 as spent, sum(earned)::int8 as earned, sum(held)::int8 as held
        from (select work.org_id, ${balanceDelta} as spent, 0::int8 as earned, work.cost as held from work where work.cost > 0
              ${
                kind === 'capture'
                  ? sql`union all
              select work.provider_org_id, 0, work.provider_earning, 0 from work where ${ofProvider}
              union all
              select ${PLATFORM_ORG}, 0, work.cost - work.provider_earning, 0 from work where ${ofProvider}`
                  : sql``
              }) as moves
       group by org_id
    ),
    account as (
      -- an array (an InitPlan, read once), as in the charge statement: a locked row is re-checked
      -- against a plain value list, with no join to re-run for the row's latest version
      select c.org_id from credit_accounts c
       where c.org_id = any(array(select org_id from per_org))
       order by c.org_id
         for update
    ),
    settled as (
      update credit_accounts c
         set balance = c.balance - per_org.spent + per_org.earned, reserved = c.reserved - per_org.held,
             ${input.periods ? sql`${countSpend(sql`c`, sql`per_org.spent`, input.periods)},` : sql``} updated_at = now()
        from per_org join account using (org_id)
       where c.org_id = per_org.org_id
   returning c.org_id
    ),
    key_settled as (
      update api_keys k
         set reserved = k.reserved - per_key.held ${input.periods ? sql`, ${countSpend(sql`k`, sql`per_key.taken`, input.periods)}` : sql``}
        from (select api_key_id, sum(${balanceDelta})::int8 as taken, sum(work.cost)::int8 as held
                from work where work.cost > 0 and work.org_id in (select org_id from settled)
               group by api_key_id) as per_key
       where k.id = per_key.api_key_id
    ),
    entry as (
      insert into ledger_entries (org_id, kind, amount, reserved_delta, task_id, reason)
      select work.org_id, ${kind}::ledger_kind, -${balanceDelta}, -work.cost, work.id, ${input.reason ?? null}::text
        from work where work.cost > 0
      ${
        kind === 'capture'
          ? sql`union all
      select work.provider_org_id, 'earning'::ledger_kind, work.provider_earning, 0, work.id, null from work where ${ofProvider}
      union all
      select ${PLATFORM_ORG}, 'fee'::ledger_kind, work.cost - work.provider_earning, 0, work.id, null from work where ${ofProvider}`
          : sql``
      }
    )
    select * from work`;
}
