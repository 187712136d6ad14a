import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { PLATFORM_ORG } from './platform.js';

/** The CTE of a settled claim: one row `(org_id, task_id, amount)` when the claim was still the call's. */
const SETTLED = sql`${sql.identifier('settled_claim')}`;

/** One EIP-3009 authorization, as x402_payments keys it: every part lowercase 0x-hex but the network. */
export interface Authorization {
  /** CAIP-2, e.g. eip155:8453 */
  network: string;
  asset: string;
  payer: string;
  nonce: string;
}

const ClaimRow = z.object({ id: z.bigint() });

/**
 * Takes the authorization for one call: a new claim, or again one whose call failed before it was
 * settled (`released`, the authorization unused). Resolves with the claim's id, or undefined when
 * the authorization is another call's (claimed), was settled, or failed settling: the same
 * authorization never pays twice, whichever instance sees it (the unique key decides).
 */
export async function claimAuthorization(
  db: Database,
  input: Authorization & { amount: bigint; orgId: string; taskId: string; tool: string; validBefore: bigint },
): Promise<bigint | undefined> {
  const [row] = await db.rows(
    ClaimRow,
    sql`
    insert into x402_payments (network, asset, payer, nonce, amount, status, org_id, task_id, tool, valid_before)
    values (${input.network}, ${input.asset.toLowerCase()}, ${input.payer.toLowerCase()}, ${input.nonce.toLowerCase()},
            ${input.amount}, 'claimed', ${input.orgId}, ${input.taskId}, ${input.tool},
            to_timestamp(least(${input.validBefore.toString()}::numeric, 253402300799)))
    on conflict (network, asset, payer, nonce) do update
       set status = 'claimed', amount = excluded.amount, org_id = excluded.org_id, task_id = excluded.task_id,
           tool = excluded.tool, error = null, updated_at = now()
     where x402_payments.status = 'released'
 returning id`,
  );
  return row?.id;
}

/** Gives a claim back unused: its call failed before anything was settled, so the payer may offer it again. */
export async function releaseClaim(db: Database, claimId: bigint): Promise<void> {
  await db.run(sql`update x402_payments set status = 'released', updated_at = now() where id = ${claimId} and status = 'claimed'`);
}

/**
 * Marks a claim whose settlement failed, or whose outcome is unknown (a timeout may still land
 * on-chain): it is never used again, so a transfer that did land cannot be paid for twice.
 */
export async function failClaim(db: Database, claimId: bigint, input: { error: string; transaction?: string }): Promise<void> {
  await db.run(
    sql`update x402_payments set status = 'failed', error = ${input.error}, transaction = ${input.transaction ?? null}, updated_at = now()
         where id = ${claimId} and status = 'claimed'`,
  );
}

/**
 * Notes on a claim whose transfer settled but whose books could not be written (bookX402Payment
 * failed every time): the transaction, and `settled_not_booked`, so the operator finds it by query,
 * not only in the logs. The claim stays `claimed`: it is never taken again, and booking it later
 * is the operator's (docs/adr/0023).
 */
export async function markSettledNotBooked(db: Database, claimId: bigint, transaction: string): Promise<void> {
  await db.run(
    sql`update x402_payments set transaction = ${transaction}, error = 'settled_not_booked', updated_at = now()
         where id = ${claimId} and status = 'claimed'`,
  );
}

/**
 * The books of a settled x402 call, ONE statement: the claim becomes `settled` with its
 * transaction, `taskWrite` records the call's task completed (read from `settled_claim`), and the
 * payer's organization gets an `x402_payment` row crediting what the call's `charge` row beside it
 * takes, so its balance is unchanged and Σ amount = balance still holds; for a provider's tool the
 * provider is credited its `provider_earning` and the platform the rest (`earning` and `fee` rows,
 * docs/adr/0020-provider-earnings.md). Only the accounts credited are locked, in org_id order as
 * every money statement takes them. Returns `taskWrite`'s row, none when the claim was no longer the
 * call's (nothing is written then).
 *
 * `taskWrite` returns `(id, org_id, cost, provider_org_id, provider_earning, …)`.
 */
export function bookX402Payment(input: { claimId: bigint; transaction: string; reason: string; taskWrite: (settled: SQL) => SQL }): SQL {
  return sql`
    with ${SETTLED} as (
      update x402_payments set status = 'settled', transaction = ${input.transaction}, updated_at = now()
       where id = ${input.claimId} and status = 'claimed'
   returning org_id, task_id, amount
    ),
    work as (${input.taskWrite(SETTLED)}),
    per_org as (
      select org_id, sum(earned)::int8 as earned
        from (select work.provider_org_id as org_id, work.provider_earning as earned from work
               where work.cost > 0 and work.provider_org_id is not null
              union all
              select ${PLATFORM_ORG}, work.cost - work.provider_earning from work
               where work.cost > 0 and work.provider_org_id is not null) as moves
       group by org_id
    ),
    account as (
      select c.org_id from credit_accounts c
       where c.org_id = any(array(select org_id from per_org))
       order by c.org_id
         for update
    ),
    credited as (
      update credit_accounts c set balance = c.balance + per_org.earned, updated_at = now()
        from per_org join account using (org_id)
       where c.org_id = per_org.org_id
    ),
    entry as (
      insert into ledger_entries (org_id, kind, amount, reserved_delta, task_id, reason)
      select work.org_id, 'x402_payment'::ledger_kind, work.cost, 0, work.id, ${input.reason}::text from work
      union all
      select work.org_id, 'charge'::ledger_kind, -work.cost, 0, work.id, null from work
      union all
      select work.provider_org_id, 'earning'::ledger_kind, work.provider_earning, 0, work.id, null
        from work where work.cost > 0 and work.provider_org_id is not null
      union all
      select ${PLATFORM_ORG}, 'fee'::ledger_kind, work.cost - work.provider_earning, 0, work.id, null
        from work where work.cost > 0 and work.provider_org_id is not null
    )
    select * from work`;
}

const UnresolvedClaimRow = z.object({
  id: z.bigint(),
  asset: z.string(),
  payer: z.string(),
  nonce: z.string(),
  /** past its validBefore: an authorization never submitted by then never will be */
  expired: z.boolean(),
});
export type UnresolvedClaim = z.output<typeof UnresolvedClaimRow>;

/**
 * Claims whose transfer may have landed without books: `claimed` for longer than any call runs
 * (its process died between the tool and the books), or `failed` (a settlement that timed out may
 * still have landed). The longest unchecked first; each is touched, so the next batch moves on.
 */
export async function unresolvedClaims(db: Database, input: { claimedForMs: number; limit: number }): Promise<UnresolvedClaim[]> {
  return db.rows(
    UnresolvedClaimRow,
    sql`
    update x402_payments p set updated_at = now()
      from (select id from x402_payments
             where (status = 'claimed' and updated_at < now() - ${input.claimedForMs} * interval '1 millisecond')
                or (status = 'failed' and updated_at < now() - interval '1 minute')
             order by updated_at
             limit ${input.limit}
               for update skip locked) as due
     where p.id = due.id
 returning p.id, p.asset, p.payer, p.nonce, p.valid_before < now() as expired`,
  );
}

/**
 * A claim whose authorization was used on-chain but whose call was never answered and booked: the
 * USDC is the treasury's, so the payer's organization is credited it, one `x402_payment` row
 * moving its balance in the same statement, usable as prepaid credit. Nothing was charged, as no
 * answer was delivered. Returns whether this statement did it (the claim was still unresolved).
 */
export async function creditUnansweredPayment(db: Database, claimId: bigint): Promise<boolean> {
  const rows = await db.rows(
    ClaimRow,
    sql`
    with claim as (
      update x402_payments set status = 'settled', error = 'settled on-chain without an answer: credited to the payer', updated_at = now()
       where id = ${claimId} and status in ('claimed', 'failed')
   returning id, org_id, amount, task_id, network, transaction
    ),
    account as (
      select c.org_id from credit_accounts c where c.org_id in (select org_id from claim) for update
    ),
    credited as (
      update credit_accounts c set balance = c.balance + claim.amount, updated_at = now()
        from claim join account using (org_id)
       where c.org_id = claim.org_id
   returning c.org_id
    ),
    entry as (
      insert into ledger_entries (org_id, kind, amount, reserved_delta, task_id, reason)
      select claim.org_id, 'x402_payment'::ledger_kind, claim.amount, 0, claim.task_id,
             'x402 ' || claim.network || ':' || coalesce(claim.transaction, 'unknown transaction') || ', unanswered: credited'
        from claim join credited using (org_id)
    )
    select id from claim`,
  );
  return rows.length > 0;
}

/** A claim whose authorization expired unused: nothing moved, and nothing can any more. */
export async function closeExpiredClaim(db: Database, claimId: bigint): Promise<void> {
  await db.run(
    sql`update x402_payments set status = 'released', updated_at = now() where id = ${claimId} and status in ('claimed', 'failed') and valid_before < now()`,
  );
}
