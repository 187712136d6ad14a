import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Database, openDatabase } from '../src/db/client.js';

export interface AccountViolation {
  orgId: string;
  balance: string;
  reserved: string;
  ledgerAmount: string;
  ledgerReserved: string;
}

export interface MoneyReport {
  ok: boolean;
  accounts: number;
  /** tasks still `working` (holding a reservation) when the check ran */
  workingTasks: number;
  /** accounts where balance ≠ Σ amount, reserved ≠ Σ reserved_delta, or reserved ≠ 0 while idle */
  violations: AccountViolation[];
  /** −Σ amount of the capture and charge entries: what the ledger says was charged, warm-ups included */
  chargedMicroUsdc: string;
}

const accountRow = z.object({
  orgId: z.string(),
  balance: z.bigint(),
  reserved: z.bigint(),
  ledgerAmount: z.bigint(),
  ledgerReserved: z.bigint(),
});

const SETTLE_TIMEOUT_MS = 10_000;
const SETTLE_POLL_MS = 100;

/** Waits (up to SETTLE_TIMEOUT_MS) for in-flight calls to settle; returns how many tasks still work. */
async function settledWorkingTasks(db: Database): Promise<number> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const [row] = await db.rows(z.object({ working: z.number() }), sql`select count(*)::int as working from tasks where state = 'working'`);
    const working = row?.working ?? 0;
    if (working === 0 || Date.now() >= deadline) return working;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
  }
}

/**
 * Checks the ledger invariant of every credit account once the calls in flight have settled: run it
 * after the load stops, while the gateway still runs, so an answered-or-not call can finish its charge or capture.
 */
export async function checkMoney(url: string): Promise<MoneyReport> {
  const db = await openDatabase({ url, poolSize: 1 });
  try {
    const workingTasks = await settledWorkingTasks(db);
    const accounts = await db.rows(
      accountRow,
      sql`
      select a.org_id as "orgId", a.balance, a.reserved,
             coalesce(sum(l.amount), 0)::int8 as "ledgerAmount",
             coalesce(sum(l.reserved_delta), 0)::int8 as "ledgerReserved"
        from credit_accounts a left join ledger_entries l on l.org_id = a.org_id
       group by a.org_id, a.balance, a.reserved`,
    );
    const [charged] = await db.rows(
      z.object({ total: z.bigint() }),
      sql`select coalesce(-sum(amount), 0)::int8 as total from ledger_entries where kind in ('capture', 'charge')`,
    );
    const violations = accounts
      .filter((a) => a.balance !== a.ledgerAmount || a.reserved !== a.ledgerReserved || a.reserved !== 0n)
      .map((a) => ({
        orgId: a.orgId,
        balance: a.balance.toString(),
        reserved: a.reserved.toString(),
        ledgerAmount: a.ledgerAmount.toString(),
        ledgerReserved: a.ledgerReserved.toString(),
      }));
    return {
      ok: violations.length === 0,
      accounts: accounts.length,
      workingTasks,
      violations,
      chargedMicroUsdc: (charged?.total ?? 0n).toString(),
    };
  } finally {
    await db.close();
  }
}
