import { sql } from 'drizzle-orm';
import { keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { z } from 'zod';
import { buildGateway } from '../helpers/built-gateway.js';
import { type LocalChain, startLocalChain } from '../helpers/chain.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { needs } from '../helpers/requirements.js';
import { type GatewayProcess, outputsOf, pollUntil, startGatewayProcess } from '../robustness/support.js';
import { catchUp, deployRegistries, indexerDeps, type Registries, registryCalls } from './support.js';

const INDEXER_LOCK_KEY = 0x0a2a_8004;
/** A row of a table the two backfills' snapshots compare whole, column by column. */
const tableRow = z.record(z.string(), z.unknown());

/**
 * Indexer processes, two at a time (`npm run indexer` and a gateway with INDEXER=1), are
 * SIGKILLed three times during a backfill read two blocks per range, and restarted. The tables they
 * leave are compared row for row with a backfill that was never interrupted.
 */
describe('indexers killed and restarted mid-backfill lose and double nothing (PostgreSQL only: child processes)', needs('postgres'), () => {
  let chain: LocalChain;
  let reference: TestDatabase;
  let killed: TestDatabase;
  let registries: Registries;
  const processes: GatewayProcess[] = [];

  const tables = async (db: TestDatabase) => ({
    agents: await db.db.rows(tableRow, sql`select id, owner_address, agent_uri, metadata, created_at from agents order by id`),
    feedbacks: await db.db.rows(
      tableRow,
      sql`select agent_id, client_address, feedback_index, value::text, value_decimals, tag1, revoked, created_at from feedbacks order by 1, 2, 3`,
    ),
    validations: await db.db.rows(tableRow, sql`select request_hash, agent_id, response, tag from validations order by 1`),
  });
  const tip = async () =>
    (await killed.db.rows(z.object({ tip_block: z.bigint() }), sql`select tip_block from indexer_state`))[0]?.tip_block ?? -1n;
  /** The cursor once it reached `block`; fails at once if every indexer process has exited. */
  const cursorAt = (block: bigint, running: GatewayProcess[]) => async () => {
    if (!running.some((child) => child.isRunning())) throw new Error(`every indexer exited:\n${outputsOf(running)}`);
    return (await tip()) >= block ? true : undefined;
  };
  const startIndexers = (round: number) =>
    [0, 1].map((n) => {
      const child = startGatewayProcess({
        name: `indexer-${round}-${n}`,
        databaseUrl: killed.url!,
        port: 0,
        // One runs alone (npm run indexer), the other inside a gateway (INDEXER=1).
        entry: n === 0 ? 'src/indexer-main.ts' : 'src/main.ts',
        env: {
          INDEXER: '1',
          CHAIN_ID: '31337',
          CHAIN_RPC_URL: chain.rpcUrl,
          IDENTITY_REGISTRY: registries.identity,
          REPUTATION_REGISTRY: registries.reputation,
          VALIDATION_REGISTRY: registries.validation,
          INDEXER_CONFIRMATIONS: '3',
          INDEXER_MAX_BLOCK_RANGE: '2',
          INDEXER_INTERVAL_MS: '50',
        },
      });
      processes.push(child);
      return child;
    });

  beforeAll(async () => {
    await buildGateway();
    chain = await startLocalChain();
    [reference, killed] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    const wallets = await Promise.all(Array.from({ length: 7 }, () => chain.fundedWallet()));
    const [deployer, owner, validator] = [wallets[0]!, wallets[1]!, wallets[2]!];
    const clients = wallets.slice(3);
    registries = await deployRegistries(chain, deployer);
    const calls = registryCalls(registries);
    await chain.write(owner, calls.register('https://agents.example/zero.json'));
    await chain.write(owner, calls.register('https://agents.example/one.json'));
    for (let block = 0; block < 120; block++) {
      const client = clients[block % clients.length]!;
      await chain.write(client, calls.giveFeedbackBatch(BigInt(block % 2), 5, BigInt(block)));
      if (block % 10 === 3) await chain.write(client, calls.revokeFeedback(BigInt(block % 2), BigInt(1 + Math.floor(block / 10))));
      if (block % 20 === 7) {
        const requestHash = keccak256(toHex(`request ${block}`));
        await chain.write(owner, calls.validationRequest(validator.address, BigInt(block % 2), requestHash));
        await chain.write(validator, calls.validationResponse(requestHash, block % 101, 'tee'));
      }
    }
    await chain.mine(5);
    await catchUp(indexerDeps(reference.db, chain, registries));
  }, 180_000);
  afterAll(async () => {
    for (const child of processes) await child.kill();
    await Promise.all([reference?.dispose(), killed?.dispose()]);
    await chain?.stop();
  });

  it('three SIGKILLs during the backfill, two indexers each time, one lock holder: the same rows as an uninterrupted backfill', async () => {
    onTestFailed(() => console.error(outputsOf(processes)));
    const head = await chain.publicClient.getBlockNumber();
    for (const [round, fraction] of [0.2, 0.45, 0.7].entries()) {
      const pair = startIndexers(round);
      const target = (head * BigInt(Math.round(fraction * 100))) / 100n;
      await pollUntil(`the cursor at block ${target}`, cursorAt(target, pair), { timeoutMs: 60_000, intervalMs: 5 });
      const [holders] = await killed.db.rows(
        z.object({ n: z.number() }),
        sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = ${INDEXER_LOCK_KEY} and granted`,
      );
      expect(holders?.n).toBe(1);
      for (const child of pair) await child.kill();
      expect(await tip()).toBeLessThan(head);
    }
    const last = startIndexers(3);
    await pollUntil('the cursor at the head', cursorAt(head, last), { timeoutMs: 60_000, intervalMs: 20 });
    for (const child of last) await child.kill();

    const expected = await tables(reference);
    expect(expected.feedbacks).toHaveLength(600);
    expect(await tables(killed)).toEqual(expected);
  }, 180_000);
});
