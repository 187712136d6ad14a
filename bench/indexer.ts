import { pino } from 'pino';
import { openDatabase } from '../src/db/client.js';
import { type IndexerDeps, indexerLogReader, indexOnce } from '../src/indexer/indexer.js';
import {
  identityRegistryArtifact,
  reputationRegistryArtifact,
  startLocalChain,
  validationRegistryArtifact,
} from '../test/helpers/chain.js';
import { createBenchDatabase } from './bench-database.js';

/** Feedbacks written per transaction: about 12,000 gas each, within anvil's 30M block gas limit. */
const FEEDBACKS_PER_TX = 2_000;

export interface IndexerBenchResult {
  events: number;
  blocks: number;
  passes: number;
  seconds: number;
  eventsPerS: number;
  /** seconds spent writing the events on chain (not measured as indexing) */
  chainSeconds: number;
}

/**
 * A backfill of `events` registry events: the project's test registries on a local anvil chain get
 * one agent and `events − 2` feedbacks (in transactions of 2,000), then the indexer reads them all
 * into a fresh database on `serverUrl`, timed from its first pass until it has caught up.
 */
export async function benchIndexerBackfill(serverUrl: string, events: number, say: (line: string) => void): Promise<IndexerBenchResult> {
  const chain = await startLocalChain();
  const database = await createBenchDatabase(serverUrl);
  const db = await openDatabase({ url: database.url, poolSize: 2 });
  try {
    await db.migrate();
    const written = performance.now();
    const [deployer, owner, client] = await Promise.all([chain.fundedWallet(), chain.fundedWallet(), chain.fundedWallet()]);
    const identity = await chain.deploy(identityRegistryArtifact, [], deployer);
    const reputation = await chain.deploy(reputationRegistryArtifact, [identity], deployer);
    const validation = await chain.deploy(validationRegistryArtifact, [identity], deployer);
    // register() emits Registered and MetadataSet(agentWallet); the rest are feedbacks.
    await chain.write(owner, {
      address: identity,
      abi: identityRegistryArtifact.abi,
      functionName: 'register',
      args: ['https://agents.example/bench.json'],
    });
    for (let left = events - 2; left > 0; left -= FEEDBACKS_PER_TX) {
      const count = Math.min(left, FEEDBACKS_PER_TX);
      await chain.write(client, {
        address: reputation,
        abi: reputationRegistryArtifact.abi,
        functionName: 'giveFeedbackBatch',
        args: [0n, count, BigInt(left)],
      });
    }
    const chainSeconds = (performance.now() - written) / 1000;
    say(`indexer: ${events} events written on anvil in ${chainSeconds.toFixed(1)} s; backfilling …`);

    const deps: IndexerDeps = {
      db,
      client: chain.publicClient,
      settings: {
        chainId: 31337,
        registries: { identity, reputation, validation },
        startBlock: 0n,
        confirmations: 10,
        maxBlockRange: 2_000n,
        intervalMs: 1_000,
      },
      log: pino({ level: 'silent' }),
    };
    const reader = indexerLogReader(deps);
    const started = performance.now();
    let indexed = 0;
    let passes = 0;
    let blocks = 0n;
    for (;;) {
      const pass = await indexOnce(deps, reader);
      passes++;
      indexed += pass.events;
      blocks += pass.blocks;
      if (!pass.more) break;
    }
    const seconds = (performance.now() - started) / 1000;
    if (indexed !== events) throw new Error(`the indexer wrote ${indexed} events of ${events}`);
    return {
      events,
      blocks: Number(blocks),
      passes,
      seconds: Math.round(seconds * 100) / 100,
      eventsPerS: Math.round(indexed / seconds),
      chainSeconds: Math.round(chainSeconds * 10) / 10,
    };
  } finally {
    await db.close();
    await database.drop();
    await chain.stop();
  }
}

export function formatIndexerBench(result: IndexerBenchResult): string {
  return (
    `indexer backfill: ${result.events.toLocaleString('en')} events over ${result.blocks} blocks in ${result.passes} passes, ` +
    `${result.seconds} s: ${result.eventsPerS.toLocaleString('en')} events/s (local anvil RPC, PostgreSQL)`
  );
}
