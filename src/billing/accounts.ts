import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Actor, auditInsert } from '../audit/record.js';
import type { Database } from '../db/client.js';

export interface CreditAccount {
  orgId: string;
  balance: bigint;
  reserved: bigint;
  available: bigint;
}

export class NoCreditAccountError extends Error {
  constructor(readonly orgId: string) {
    super(`organization ${orgId} has no credit account`);
    this.name = 'NoCreditAccountError';
  }
}

/** Opens an empty account; a zero balance needs no ledger row. Safe to call twice. */
export async function openCreditAccount(db: Database, orgId: string): Promise<void> {
  await db.run(sql`insert into credit_accounts (org_id) values (${orgId}) on conflict (org_id) do nothing`);
}

const AccountRow = z.object({ balance: z.bigint(), reserved: z.bigint() });

export async function getCreditAccount(db: Database, orgId: string): Promise<CreditAccount | undefined> {
  const [row] = await db.rows(AccountRow, sql`select balance, reserved from credit_accounts where org_id = ${orgId}`);
  return row && { orgId, balance: row.balance, reserved: row.reserved, available: row.balance - row.reserved };
}

/**
 * An operator's grant: the balance, its ledger row and its `credits.grant` audit row change in one
 * statement. The audit row's `before` and `after` hold the balance, `after` also the amount, the
 * reason and the ledger row's id.
 */
export async function grantCredits(
  db: Database,
  input: { orgId: string; amount: bigint; reason: string; by: Actor },
): Promise<CreditAccount> {
  if (input.amount <= 0n) throw new RangeError('a grant must be a positive amount of micro-USDC');
  const [row] = await db.rows(
    AccountRow,
    sql`
    with credited as (
      update credit_accounts
         set balance = balance + ${input.amount}, updated_at = now()
       where org_id = ${input.orgId}
   returning org_id, balance, reserved
    ), entry as (
      insert into ledger_entries (org_id, kind, amount, reserved_delta, reason)
      select org_id, 'grant'::ledger_kind, ${input.amount}, 0, ${input.reason} from credited
      returning id, amount, reason
    ), audit as (${auditInsert(input.by, {
      action: 'credits.grant',
      from: sql`credited cross join entry`,
      orgId: sql`credited.org_id`,
      target: { kind: 'credit_account', id: sql`credited.org_id` },
      before: sql`jsonb_build_object('balanceMicroUsdc', (credited.balance - entry.amount)::text)`,
      after: sql`jsonb_build_object('balanceMicroUsdc', credited.balance::text, 'grantedMicroUsdc', entry.amount::text,
                 'reason', entry.reason, 'ledgerEntryId', entry.id::text)`,
    })})
    select balance, reserved from credited`,
  );
  if (!row) throw new NoCreditAccountError(input.orgId);
  return { orgId: input.orgId, balance: row.balance, reserved: row.reserved, available: row.balance - row.reserved };
}
