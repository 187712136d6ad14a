import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { erc20Abi, getAbiItem, type PublicClient } from 'viem';
import { z } from 'zod';
import { claimUnclaimedTopUps, recordTransfers } from '../billing/topups.js';
import type { Database } from '../db/client.js';
import type { Observer } from '../domain/observer.js';
import { outageLog } from '../outage-log.js';
import { repeat } from '../repeat.js';
import { readChain, type TopUpChain } from './client.js';
import { treasuryTransfers } from './usdc-transfers.js';

/** Blocks read per getLogs call: within what public RPCs allow. */
const MAX_BLOCK_RANGE = 2_000n;
const TRANSFER = getAbiItem({ abi: erc20Abi, name: 'Transfer' });

/** How far the watcher has read: the last block scanned, and that block's hash. */
const cursorRow = z.object({ blockNumber: z.bigint(), blockHash: z.string() });

type Cursor = z.output<typeof cursorRow>;

async function readCursor(db: Database, chainId: number): Promise<Cursor | undefined> {
  const [row] = await db.rows(
    cursorRow,
    sql`select block_number as "blockNumber", block_hash as "blockHash" from chain_cursors where chain_id = ${chainId}`,
  );
  return row;
}

/**
 * Moves the cursor from `from` to `to` only if no other instance moved it meanwhile, so two
 * watchers never move it backwards. (Scanning a range twice is harmless: transfers are unique.)
 */
async function advanceCursor(db: Database, chainId: number, from: Cursor | undefined, to: Cursor): Promise<void> {
  if (!from) {
    await db.run(sql`
      insert into chain_cursors (chain_id, block_number, block_hash) values (${chainId}, ${to.blockNumber}, ${to.blockHash})
      on conflict (chain_id) do nothing`);
    return;
  }
  await db.run(sql`
    update chain_cursors set block_number = ${to.blockNumber}, block_hash = ${to.blockHash}, updated_at = now()
     where chain_id = ${chainId} and block_number = ${from.blockNumber} and block_hash = ${from.blockHash}`);
}

/**
 * One pass: credits USDC transfers to the treasury in blocks that have their confirmations, from
 * the stored cursor on (or from `startBlock`, or the current safe block, the first time), then
 * credits unclaimed transfers whose wallets have joined an organization since. Only confirmed
 * blocks are read, so a reorg shorter than the confirmations never reaches a credit; a deeper one
 * is noticed when the cursor's block hash changes, logged, and the blocks before it are read again.
 * Returns whether it stopped short of the safe head (there is more to read at once).
 */
export async function scanTopUps(input: {
  db: Database;
  client: PublicClient;
  chain: TopUpChain;
  log: Logger;
  /** told what each credit was */
  observe: Pick<Observer, 'toppedUp'>;
  startBlock?: bigint;
}): Promise<boolean> {
  const { db, client, chain, log, observe } = input;
  const head = await readChain(() => client.getBlockNumber({ cacheTime: 0 }));
  const safe = head - BigInt(chain.confirmations - 1);
  if (safe < 0n) return false;
  let cursor = await readCursor(db, chain.chainId);
  if (cursor) {
    const scanned = cursor.blockNumber;
    const block = await readChain(() => client.getBlock({ blockNumber: scanned }));
    if (block.hash !== cursor.blockHash) {
      const back = cursor.blockNumber > BigInt(chain.confirmations) * 2n ? cursor.blockNumber - BigInt(chain.confirmations) * 2n : 0n;
      log.error(
        { chainId: chain.chainId, block: cursor.blockNumber.toString(), rescanFrom: back.toString() },
        'top-up cursor block replaced by a reorg deeper than the confirmations',
      );
      const rewound = await readChain(() => client.getBlock({ blockNumber: back }));
      await db.run(sql`
        update chain_cursors set block_number = ${back}, block_hash = ${rewound.hash}, updated_at = now() where chain_id = ${chain.chainId}`);
      cursor = { blockNumber: back, blockHash: rewound.hash };
    }
  }
  const from = cursor ? cursor.blockNumber + 1n : (input.startBlock ?? safe);
  if (from > safe) return false;
  const to = from + MAX_BLOCK_RANGE - 1n < safe ? from + MAX_BLOCK_RANGE - 1n : safe;
  const logs = await readChain(() =>
    client.getLogs({ address: chain.usdc, event: TRANSFER, args: { to: chain.treasury }, fromBlock: from, toBlock: to, strict: true }),
  );
  const recorded = await recordTransfers(db, treasuryTransfers(chain, logs), 'watcher', observe);
  for (const topUp of recorded) {
    log.info(
      {
        chainId: topUp.chainId,
        tx: topUp.txHash,
        logIndex: topUp.logIndex,
        amount: topUp.amount.toString(),
        status: topUp.status,
        org: topUp.orgId,
      },
      'top-up recorded by the watcher',
    );
  }
  const claimed = await claimUnclaimedTopUps(db, observe);
  for (const topUp of claimed) log.info({ tx: topUp.txHash, logIndex: topUp.logIndex, org: topUp.orgId }, 'unclaimed top-up credited');
  const last = await readChain(() => client.getBlock({ blockNumber: to }));
  await advanceCursor(db, chain.chainId, cursor, { blockNumber: to, blockHash: last.hash });
  return to < safe;
}

/** Ranges read in one pass while catching up, so a stop never waits for a long backlog. */
const RANGES_PER_PASS = 10;

/**
 * Runs scanTopUps every `intervalMs`, several ranges at once while catching up; `stop()` waits for
 * the pass in progress. While the chain RPC fails, each pass starts again from the stored cursor
 * (transfers are unique, so a range read twice credits nothing twice), and the outage is logged
 * once, with one line when the watcher reads again.
 */
export function startTopUpWatcher(input: Parameters<typeof scanTopUps>[0] & { intervalMs: number }): () => Promise<void> {
  const outage = outageLog(input.log, {
    failing: 'top-up watcher pass failed; retrying at each interval from its cursor',
    recovered: 'top-up watcher reads the chain again',
  });
  return repeat(
    async () => {
      for (let range = 0; range < RANGES_PER_PASS && (await scanTopUps(input)); range++);
      outage.succeeded();
    },
    { intervalMs: input.intervalMs, onError: outage.failed },
  );
}
