import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';
import type { Observer } from '../domain/observer.js';

/** A USDC transfer to the treasury that has its confirmations. Addresses and hashes lowercase. */
export interface ConfirmedTransfer {
  chainId: number;
  txHash: string;
  logIndex: number;
  blockNumber: bigint;
  blockHash: string;
  from: string;
  /** micro-USDC (= USDC base units) */
  amount: bigint;
}

const TopUpSourceSchema = z.enum(['submitted', 'watcher']);
export type TopUpSource = z.output<typeof TopUpSourceSchema>;

const TOPUP_COLUMNS = sql`id, chain_id as "chainId", tx_hash as "txHash", log_index as "logIndex", block_number as "blockNumber",
  from_address as "fromAddress", amount, status, org_id as "orgId", source,
  ${isoUtc(sql`created_at`)} as "createdAt", ${isoUtc(sql`credited_at`)} as "creditedAt"`;

/** A top-up as TOPUP_COLUMNS return it, its sender named `from` once read. */
const TopUpRow = z
  .object({
    /** the row's id: the order top-ups were recorded in, and the cursor of their pages */
    id: z.bigint(),
    chainId: z.number(),
    txHash: z.string(),
    logIndex: z.number(),
    blockNumber: z.bigint(),
    fromAddress: z.string(),
    amount: z.bigint(),
    status: z.enum(['credited', 'unclaimed']),
    orgId: z.string().nullable(),
    source: TopUpSourceSchema,
    createdAt: z.string(),
    creditedAt: z.string().nullable(),
  })
  .transform(({ fromAddress, ...row }) => ({ ...row, from: fromAddress }));

export type TopUp = z.output<typeof TopUpRow>;

/** Tells the observer what these rows, just written by this process, credited. */
function observeCredited(observe: Pick<Observer, 'toppedUp'>, topUps: TopUp[]): TopUp[] {
  for (const topUp of topUps) if (topUp.status === 'credited') observe.toppedUp(topUp.amount);
  return topUps;
}

/**
 * Credits the topups that `changed` returns (`(org_id, amount, chain_id, tx_hash, log_index)`, only
 * rows whose status became `credited`): their organizations' balances and one `topup` ledger row
 * each, in the statement that changed them.
 */
function creditChanged(changed: SQL): SQL {
  return sql`
    with changed as (${changed}),
    per_org as (select org_id, sum(amount) as total from changed where status = 'credited' group by org_id),
    balance as (
      update credit_accounts c set balance = c.balance + per_org.total, updated_at = now()
        from per_org where c.org_id = per_org.org_id
     returning c.org_id
    ),
    entry as (
      insert into ledger_entries (org_id, kind, amount, reserved_delta, reason)
      select changed.org_id, 'topup', changed.amount, 0,
             'USDC transfer ' || changed.chain_id || ':' || changed.tx_hash || '#' || changed.log_index
        from changed join balance using (org_id)
       where changed.status = 'credited'
    )
    select ${TOPUP_COLUMNS} from changed`;
}

/**
 * Records confirmed transfers, each once by (chain id, tx hash, log index), whichever path and
 * however many times it arrives: a transfer from a member wallet is credited to its organization,
 * one from any other wallet is kept unclaimed. Returns the transfers recorded by THIS call; those
 * recorded before are left as they were.
 */
export async function recordTransfers(
  db: Database,
  transfers: readonly ConfirmedTransfer[],
  source: TopUpSource,
  observe: Pick<Observer, 'toppedUp'>,
): Promise<TopUp[]> {
  // Stryker disable next-line ConditionalExpression: the statement over no transfers records nothing either; this spares a round trip
  if (transfers.length === 0) return [];
  const rows = transfers.map((transfer) => ({
    chain_id: transfer.chainId,
    tx_hash: transfer.txHash.toLowerCase(),
    log_index: transfer.logIndex,
    block_number: transfer.blockNumber.toString(),
    // Stryker disable next-line MethodExpression: kept for audit, never read back or compared
    block_hash: transfer.blockHash.toLowerCase(),
    from_address: transfer.from.toLowerCase(),
    amount: transfer.amount.toString(),
  }));
  const recorded = await db.rows(
    TopUpRow,
    creditChanged(sql`
      insert into topups (chain_id, tx_hash, log_index, block_number, block_hash, from_address, amount, status, org_id, source, credited_at)
      select i.chain_id, i.tx_hash, i.log_index, i.block_number, i.block_hash, i.from_address, i.amount,
             (case when m.org_id is null then 'unclaimed' else 'credited' end)::topup_status, m.org_id, ${source},
             case when m.org_id is null then null else now() end
        from json_to_recordset(${JSON.stringify(rows)}::json) as i (
               chain_id int, tx_hash text, log_index int, block_number int8, block_hash text, from_address text, amount int8)
        left join org_members m on m.address = i.from_address
       order by i.block_number, i.log_index
      on conflict (chain_id, tx_hash, log_index) do nothing
      returning *`),
  );
  return observeCredited(observe, recorded);
}

/**
 * Credits unclaimed transfers whose wallet now belongs to an organization (all of them, or only
 * `address`'s). Each row's status changes under its row lock, so two claims never credit one twice.
 */
export async function claimUnclaimedTopUps(db: Database, observe: Pick<Observer, 'toppedUp'>, address?: string): Promise<TopUp[]> {
  const claimed = await db.rows(
    TopUpRow,
    creditChanged(sql`
      update topups t set status = 'credited', org_id = m.org_id, credited_at = now()
        from org_members m
       where t.status = 'unclaimed' and m.address = t.from_address
         ${address ? sql`and t.from_address = ${address.toLowerCase()}` : sql``}
   returning t.*`),
  );
  return observeCredited(observe, claimed);
}

/** The top-ups of one transaction, as recorded (whoever recorded them). */
export async function topUpsOfTransaction(db: Database, input: { chainId: number; txHash: string }): Promise<TopUp[]> {
  return db.rows(
    TopUpRow,
    sql`
    select ${TOPUP_COLUMNS} from topups
     where chain_id = ${input.chainId} and tx_hash = ${input.txHash.toLowerCase()}
     order by log_index`,
  );
}

/** The organization's top-ups, the last recorded first (a batch's in chain order), `limit` at a time from before the id `beforeId`. */
export async function listTopUps(db: Database, orgId: string, page: { limit: number; beforeId?: bigint }): Promise<TopUp[]> {
  const before = page.beforeId === undefined ? sql`` : sql`and id < ${page.beforeId}`;
  return db.replica.rows(
    TopUpRow,
    sql`select ${TOPUP_COLUMNS} from topups where org_id = ${orgId} ${before} order by id desc limit ${page.limit}`,
  );
}
