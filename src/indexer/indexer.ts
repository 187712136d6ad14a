import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { type Address, type Hex, hexToNumber, type Log, type PublicClient } from 'viem';
import { z } from 'zod';
import type { Database, ExclusiveLock } from '../db/client.js';
import { jsonParam } from '../db/sql.js';
import { outageLog } from '../outage-log.js';
import { repeat } from '../repeat.js';
import { applyEvents, undoProvisional } from './apply.js';
import { identityReads } from './erc8004-abi.js';
import { decodeRegistryLog, KNOWN_TOPICS, type Registry, type RegistryEvent } from './events.js';
import { createLogReader, type LogReader } from './log-reader.js';

export interface IndexerSettings {
  chainId: number;
  registries: { identity: Address; reputation: Address; validation?: Address };
  /** the first block read when the database has no cursor for the chain */
  startBlock: bigint;
  /** blocks a block must have on top of it, itself included, to be final */
  confirmations: number;
  maxBlockRange: bigint;
  intervalMs: number;
}

export interface IndexerDeps {
  db: Database;
  client: PublicClient;
  settings: IndexerSettings;
  log: Logger;
}

/** How far the indexer has read the chain: its indexer_state row. */
const cursorRow = z.object({
  finalBlock: z.bigint(),
  finalHash: z.string().nullable(),
  tipBlock: z.bigint(),
  tipHash: z.string().nullable(),
});

type Cursor = z.output<typeof cursorRow>;

/** Only one indexer writes to a database at a time; any constant works, the same for every instance. */
const INDEXER_LOCK_KEY = 0x0a2a_8004;
/** Block reads in flight at once for timestamps (one JSON-RPC batch on the indexer's client). */
const BLOCK_READS = 50;

class IndexerRaceError extends Error {
  constructor() {
    super('another indexer moved the cursor meanwhile');
    this.name = 'IndexerRaceError';
  }
}

async function readCursor(db: Database, settings: IndexerSettings): Promise<Cursor> {
  const [row] = await db.rows(
    cursorRow,
    sql`
    select final_block as "finalBlock", final_hash as "finalHash", tip_block as "tipBlock", tip_hash as "tipHash"
      from indexer_state where chain_id = ${settings.chainId}`,
  );
  const before = settings.startBlock - 1n;
  return row ?? { finalBlock: before, finalHash: null, tipBlock: before, tipHash: null };
}

/** Any row: whether one came back is all that is read. */
const AnyRow = z.object({});

/** Moves the cursor from `from` to `to`, in the caller's transaction, only if nobody moved it meanwhile. */
async function moveCursor(tx: Database, chainId: number, from: Cursor, to: Cursor, head: bigint): Promise<void> {
  // `returning 1`: whether a row came back is all that is read.
  const moved = await tx.rows(
    AnyRow,
    sql`
    insert into indexer_state (chain_id, final_block, final_hash, tip_block, tip_hash, head_block, head_seen_at, updated_at)
    values (${chainId}, ${to.finalBlock}, ${to.finalHash}, ${to.tipBlock}, ${to.tipHash}, ${head}, now(), now())
    on conflict (chain_id) do update
      set final_block = excluded.final_block, final_hash = excluded.final_hash, tip_block = excluded.tip_block, tip_hash = excluded.tip_hash,
          head_block = excluded.head_block, head_seen_at = now(), updated_at = now()
      where indexer_state.tip_block = ${from.tipBlock} and indexer_state.tip_hash is not distinct from ${from.tipHash}
    returning 1`,
  );
  if (!moved.length) throw new IndexerRaceError();
}

async function blockHashAt(client: PublicClient, blockNumber: bigint): Promise<string | undefined> {
  try {
    return (await client.getBlock({ blockNumber })).hash;
  } catch (error) {
    if ((error as Error).name === 'BlockNotFoundError') return undefined;
    throw error;
  }
}

/** Hash and time of each block, read a few at a time; a log's own blockTimestamp saves the read where the RPC gives one. */
async function readBlocks(client: PublicClient, numbers: bigint[]): Promise<Map<bigint, { hash: string; time: Date }>> {
  const blocks = new Map<bigint, { hash: string; time: Date }>();
  for (let start = 0; start < numbers.length; start += BLOCK_READS) {
    const batch = numbers.slice(start, start + BLOCK_READS);
    const read = await Promise.all(batch.map((blockNumber) => client.getBlock({ blockNumber })));
    for (const block of read) blocks.set(block.number, { hash: block.hash, time: new Date(Number(block.timestamp) * 1000) });
  }
  return blocks;
}

const AgentIdRow = z.object({ id: z.bigint() });

/**
 * Agents the events name without registering them (the registration is before the start block) get
 * a row first, as the identity registry tells them at `atBlock`, so feedback always has its agent.
 */
async function knownAgentRows(deps: IndexerDeps, events: RegistryEvent[], atBlock: bigint, blockTime: (block: bigint) => Date) {
  const registered = new Set(events.filter((event) => event.kind === 'registered').map((event) => event.agentId));
  const named = new Map<bigint, bigint>();
  for (const event of events) if (!registered.has(event.agentId) && !named.has(event.agentId)) named.set(event.agentId, event.blockNumber);
  if (!named.size) return [];
  const present = await deps.db.rows(AgentIdRow, sql`select id from agents where id = any(${`{${[...named.keys()].join(',')}}`}::int8[])`);
  const missing = [...named.keys()].filter((id) => !present.some((row) => row.id === id));
  return Promise.all(
    missing.map(async (agentId) => {
      const read = async (functionName: 'ownerOf' | 'tokenURI') =>
        deps.client
          .readContract({
            address: deps.settings.registries.identity,
            abi: identityReads,
            functionName,
            args: [agentId],
            blockNumber: atBlock,
          })
          .catch(() => undefined);
      const [owner, uri] = await Promise.all([read('ownerOf'), read('tokenURI')]);
      return {
        id: agentId,
        owner: (owner ?? '0x0000000000000000000000000000000000000000').toLowerCase(),
        uri: uri ?? null,
        at: blockTime(named.get(agentId)!),
      };
    }),
  );
}

export interface PassOutcome {
  /** the pass stopped short of the head: run another at once */
  more: boolean;
  events: number;
  /** blocks read */
  blocks: bigint;
}

/**
 * One pass: checks that the last block read is still on the chain (if not, every row of the
 * provisional blocks is put back as it was and they are read again), reads the logs of the next
 * range, and writes their rows, the undo images of provisional blocks and the cursor in one
 * transaction, so a crash never skips or doubles an event.
 */
export async function indexOnce(deps: IndexerDeps, reader: LogReader): Promise<PassOutcome> {
  const { db, client, settings, log } = deps;
  const head = await client.getBlockNumber({ cacheTime: 0 });
  const cursor = await readCursor(db, settings);
  const nothing = { more: false, events: 0, blocks: 0n };

  const tipNow = cursor.tipHash === null ? null : await blockHashAt(client, cursor.tipBlock);
  if (cursor.tipHash !== null && tipNow !== cursor.tipHash) {
    if (cursor.tipBlock === cursor.finalBlock) {
      // Deeper than the confirmations: final rows cannot be put back. Say so loudly and go on from the chain as it is.
      log.error(
        { chainId: settings.chainId, block: cursor.finalBlock.toString() },
        'a reorg replaced a final block: rows from before it may be stale',
      );
      const accepted = { ...cursor, finalHash: tipNow ?? null, tipHash: tipNow ?? null };
      await db.transaction((tx) => moveCursor(tx, settings.chainId, cursor, accepted, head));
      return { ...nothing, more: true };
    }
    const rewound = { ...cursor, tipBlock: cursor.finalBlock, tipHash: cursor.finalHash };
    const undone = await db.transaction(async (tx) => {
      const count = await undoProvisional(tx, settings.chainId, cursor.finalBlock);
      await moveCursor(tx, settings.chainId, cursor, rewound, head);
      return count;
    });
    log.warn(
      { chainId: settings.chainId, from: (cursor.finalBlock + 1n).toString(), to: cursor.tipBlock.toString(), rowsPutBack: undone },
      'reorg: provisional blocks dropped, reading them again',
    );
    return { ...nothing, more: true };
  }

  const from = cursor.tipBlock + 1n;
  if (from > head) {
    await db.run(sql`update indexer_state set head_block = ${head}, head_seen_at = now() where chain_id = ${settings.chainId}`);
    return nothing;
  }
  const { logs, to } = await reader.read(from, head);
  const registryOf = registryLookup(settings.registries);
  const events: RegistryEvent[] = [];
  for (const entry of logs) {
    const outcome = decodeRegistryLog(entry, registryOf);
    if ('event' in outcome) events.push(outcome.event);
    else if (outcome.skipped !== 'mint')
      log.debug({ tx: entry.transactionHash, logIndex: entry.logIndex, why: outcome.skipped }, 'log skipped');
  }
  events.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));

  const safe = head - BigInt(settings.confirmations) + 1n;
  const finalBlock = to < safe ? to : safe > cursor.finalBlock ? safe : cursor.finalBlock;
  const stamped = logTimestamps(logs);
  const needed = new Set<bigint>([
    to,
    ...(finalBlock > cursor.finalBlock ? [finalBlock] : []),
    ...events.map((event) => event.blockNumber).filter((block) => !stamped.has(block)),
  ]);
  const blocks = await readBlocks(client, [...needed]);
  const blockTime = (block: bigint) => stamped.get(block) ?? blocks.get(block)!.time;
  const stubs = await knownAgentRows(deps, events, to, blockTime);
  const next: Cursor = {
    finalBlock,
    finalHash: finalBlock === cursor.finalBlock ? cursor.finalHash : blocks.get(finalBlock)!.hash,
    tipBlock: to,
    tipHash: blocks.get(to)!.hash,
  };

  await db.transaction(async (tx) => {
    await moveCursor(tx, settings.chainId, cursor, next, head);
    if (stubs.length) {
      await tx.run(sql`
        insert into agents (id, owner_address, agent_uri, created_at, updated_at)
        select id, owner, uri, at, at from json_to_recordset(${jsonParam(stubs)})
             as s(id int8, owner text, uri text, at timestamptz)
        on conflict (id) do nothing`);
    }
    await applyEvents({ tx, chainId: settings.chainId, provisionalFrom: safe + 1n, blockTime }, events);
    await tx.run(sql`delete from indexer_undo where chain_id = ${settings.chainId} and block_number <= ${finalBlock}`);
  });
  return { more: to < head, events: events.length, blocks: to - from + 1n };
}

function registryLookup(registries: IndexerSettings['registries']): (address: Address) => Registry | undefined {
  const byAddress = new Map<string, Registry>([
    [registries.identity.toLowerCase(), 'identity'],
    [registries.reputation.toLowerCase(), 'reputation'],
    ...(registries.validation ? [[registries.validation.toLowerCase(), 'validation'] as [string, Registry]] : []),
  ]);
  return (address) => byAddress.get(address.toLowerCase());
}

/** Block times some RPCs put on each log (`blockTimestamp`), saving a block read per block. */
function logTimestamps(logs: Log<bigint, number, false>[]): Map<bigint, Date> {
  const times = new Map<bigint, Date>();
  for (const entry of logs) {
    const stamp = (entry as { blockTimestamp?: Hex | bigint }).blockTimestamp;
    if (stamp !== undefined) times.set(entry.blockNumber, new Date(Number(typeof stamp === 'bigint' ? stamp : hexToNumber(stamp)) * 1000));
  }
  return times;
}

export function indexerLogReader(deps: IndexerDeps): LogReader {
  const { registries } = deps.settings;
  return createLogReader({
    client: deps.client,
    addresses: [registries.identity, registries.reputation, ...(registries.validation ? [registries.validation] : [])],
    topics: KNOWN_TOPICS,
    maxRange: deps.settings.maxBlockRange,
    log: deps.log,
  });
}

/** Ranges read in one loop turn while catching up, so a stop never waits for a long backlog. */
const PASSES_PER_TURN = 20;

/**
 * Runs the indexer every `intervalMs` while this instance holds the indexer lock (any instance may
 * be started with the indexer on: the others wait, and take over when the holder's connection ends).
 * A pass that fails (the chain RPC down, timing out) wrote nothing: the next starts from the cursor.
 * The outage is logged once, with one line when the indexer reads again.
 */
export function startIndexer(deps: IndexerDeps): () => Promise<void> {
  const reader = indexerLogReader(deps);
  const outage = outageLog(deps.log, {
    failing: 'indexer pass failed; retrying at each interval from its cursor',
    recovered: 'indexer reads the chain again',
  });
  let lock: ExclusiveLock | undefined;
  let chainChecked = false;
  const stopLoop = repeat(
    async () => {
      if (lock && !(await lock.stillHeld())) {
        deps.log.warn('indexer lock lost; another instance may index now');
        await lock.release();
        lock = undefined;
      }
      lock ??= await deps.db.tryExclusive(INDEXER_LOCK_KEY);
      if (!lock) return;
      if (!chainChecked) {
        const served = await deps.client.getChainId();
        if (served !== deps.settings.chainId) {
          deps.log.error({ configured: deps.settings.chainId, served }, 'CHAIN_RPC_URL serves another chain than CHAIN_ID: not indexing');
          return;
        }
        chainChecked = true;
      }
      for (let turn = 0; turn < PASSES_PER_TURN; turn++) {
        const pass = await indexOnce(deps, reader);
        if (pass.events) deps.log.info({ events: pass.events, blocks: pass.blocks.toString() }, 'indexed');
        if (!pass.more) break;
      }
      outage.succeeded();
    },
    { intervalMs: deps.settings.intervalMs, onError: outage.failed },
  );
  return async () => {
    await stopLoop();
    await lock?.release();
  };
}
