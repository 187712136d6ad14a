import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';

export interface IndexerFreshness {
  chainId: number;
  /** the last block read (its rows are in the tables) */
  indexedBlock: string;
  /** the last block with its confirmations: what a reorg can no longer change */
  finalBlock: string;
  /** the chain head at the indexer's last look */
  headBlock: string | null;
  lagBlocks: number | null;
  /** when the indexer last looked at the head */
  checkedAt: string | null;
}

const stateRow = z.object({
  tip_block: z.bigint(),
  final_block: z.bigint(),
  head_block: z.bigint().nullable(),
  checked_at: z.string().nullable(),
});

/** How far the indexer has read the chain, from its cursor row; undefined before its first pass. */
export async function indexerFreshness(db: Database, chainId: number): Promise<IndexerFreshness | undefined> {
  const [row] = await db.rows(
    stateRow,
    sql`
    select tip_block, final_block, head_block, ${isoUtc(sql`head_seen_at`)} as checked_at
      from indexer_state where chain_id = ${chainId}`,
  );
  if (!row) return undefined;
  const { tip_block: tip, head_block: head } = row;
  return {
    chainId,
    indexedBlock: tip.toString(),
    finalBlock: row.final_block.toString(),
    headBlock: head?.toString() ?? null,
    lagBlocks: head === null ? null : Number(head > tip ? head - tip : 0n),
    checkedAt: row.checked_at,
  };
}
