import { type Placeholder, type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { type CapStanding, CreditRefused, SpendCapExceeded } from '../domain/errors.js';

/**
 * Spend caps (docs/adr/0012). A key and an organization each count what they spent in the current
 * UTC day and month (columns `day_start`, `day_spent`, `month_start`, `month_spent` of `api_keys`
 * and `credit_accounts`), moved by the same statements that move the money; what is reserved for
 * working tasks counts against a cap until it settles. A call is taken only if its cost fits what
 * every cap over it leaves, checked under the organization's account row lock, so no concurrency
 * and no number of instances can pass a cap.
 */

export type SpendPeriod = 'day' | 'month';

/** The UTC periods an instant falls in, as the dates that start them. */
export interface SpendPeriods {
  /** YYYY-MM-DD */
  readonly day: string;
  /** YYYY-MM-01 */
  readonly month: string;
}

/** The periods as a statement takes them: the dates, or the slots a statement template binds them to. */
export type PeriodValues = { readonly [K in keyof SpendPeriods]: SpendPeriods[K] | Placeholder };

export function spendPeriodsAt(now: Date): SpendPeriods {
  const day = now.toISOString().slice(0, 10);
  return { day, month: `${day.slice(0, 7)}-01` };
}

/** When the period that `now` is in ends: the next UTC midnight, or the first of the next month. */
export function periodEnd(period: SpendPeriod, now: Date): Date {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  return period === 'day' ? new Date(Date.UTC(year, month, now.getUTCDate() + 1)) : new Date(Date.UTC(year, month + 1, 1));
}

/** What `row` (an alias of api_keys or credit_accounts) spent in the current `period` (an SQL value 'day' or 'month'). */
export function spentInPeriod(row: SQL, period: SQL, periods: PeriodValues): SQL {
  return sql`(case ${period}
      when 'day' then case when ${row}.day_start >= ${periods.day}::date then ${row}.day_spent else 0 end
      else case when ${row}.month_start >= ${periods.month}::date then ${row}.month_spent else 0 end end)`;
}

/** What a cap leaves for new calls: the cap less the period's spend and what is reserved; null without a cap. */
export function capLeft(input: { cap: SQL; period: SQL; row: SQL; reserved: SQL; periods: PeriodValues }): SQL {
  return sql`(${input.cap} - ${input.reserved} - ${spentInPeriod(input.row, input.period, input.periods)})`;
}

/**
 * The SET items that count `amount` as spent now into `row`'s day and month. A counter of an
 * earlier period starts again from 0; `greatest` keeps a counter that an instance whose clock is
 * ahead already moved to the next period (this one adds to it rather than reopening the old one).
 */
export function countSpend(row: SQL, amount: SQL, periods: PeriodValues): SQL {
  return sql`day_spent = (case when ${row}.day_start >= ${periods.day}::date then ${row}.day_spent else 0 end) + ${amount},
             day_start = greatest(${row}.day_start, ${periods.day}::date),
             month_spent = (case when ${row}.month_start >= ${periods.month}::date then ${row}.month_spent else 0 end) + ${amount},
             month_start = greatest(${row}.month_start, ${periods.month}::date)`;
}

const StandingRow = z.object({
  available: z.bigint().nullable(),
  keyCap: z.bigint().nullable(),
  keyPeriod: z.enum(['day', 'month']).nullable(),
  keySpent: z.bigint(),
  keyReserved: z.bigint(),
  orgCap: z.bigint().nullable(),
  orgPeriod: z.enum(['day', 'month']).nullable(),
  orgSpent: z.bigint().nullable(),
  orgReserved: z.bigint().nullable(),
});

/**
 * Why a charge or hold of `cost` was refused, read after the fact (without locks: it explains, the
 * charge statement decided): a cap that cannot cover it, else the credit. A cap is named first,
 * as more credit would not let the call through before the period ends.
 */
export async function refusalOf(
  db: Database,
  input: { orgId: string; keyId: string; cost: bigint; now: Date },
): Promise<CreditRefused | SpendCapExceeded> {
  const periods = spendPeriodsAt(input.now);
  const [row] = await db.rows(
    StandingRow,
    sql`
    select c.balance - c.reserved as available,
           k.spend_cap_micro_usdc as "keyCap", k.spend_cap_period::text as "keyPeriod",
           ${spentInPeriod(sql`k`, sql`coalesce(k.spend_cap_period, 'day')`, periods)}::int8 as "keySpent", k.reserved as "keyReserved",
           c.spend_cap_micro_usdc as "orgCap", c.spend_cap_period::text as "orgPeriod",
           ${spentInPeriod(sql`c`, sql`coalesce(c.spend_cap_period, 'day')`, periods)}::int8 as "orgSpent", c.reserved as "orgReserved"
      from api_keys k
      left join credit_accounts c on c.org_id = k.org_id
     where k.id = ${input.keyId} and k.org_id = ${input.orgId}`,
  );
  if (!row || row.available === null) return new CreditRefused(input.cost, null);
  const caps: CapStanding[] = [];
  if (row.orgCap !== null && row.orgPeriod !== null && row.orgSpent !== null && row.orgReserved !== null) {
    caps.push({ scope: 'organization', cap: row.orgCap, period: row.orgPeriod, spent: row.orgSpent, reserved: row.orgReserved });
  }
  if (row.keyCap !== null && row.keyPeriod !== null) {
    caps.push({ scope: 'key', cap: row.keyCap, period: row.keyPeriod, spent: row.keySpent, reserved: row.keyReserved });
  }
  const short = caps.find((cap) => cap.cap - cap.spent - cap.reserved < input.cost);
  if (short) return new SpendCapExceeded({ ...short, required: input.cost, resetsAt: periodEnd(short.period, input.now) });
  return new CreditRefused(input.cost, row.available);
}

/** `"spentDay"` and `"spentMonth"` of `row` (an alias of api_keys or credit_accounts) in the current periods. */
export function spendInPeriods(row: SQL, periods: SpendPeriods): SQL {
  return sql`${spentInPeriod(row, sql`'day'`, periods)}::int8 as "spentDay", ${spentInPeriod(row, sql`'month'`, periods)}::int8 as "spentMonth"`;
}
