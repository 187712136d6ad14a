import { sql } from 'drizzle-orm';
import { keccak256, type LocalAccount, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type LocalChain, startLocalChain } from '../helpers/chain.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { catchUp, deployRegistries, indexerDeps, type Registries, registryCalls } from './support.js';

/** A row of a table the snapshot compares whole, column by column. */
const tableRow = z.record(z.string(), z.unknown());
/** How many row images are kept to undo provisional blocks. */
const undoCount = z.object({ n: z.number() });

interface Snapshot {
  agents: unknown[];
  feedbacks: unknown[];
  validations: unknown[];
}

describe('reorgs: rows from blocks a reorg drops are removed and the new blocks read', () => {
  let chain: LocalChain;
  let database: TestDatabase;
  let registries: Registries;
  let calls: ReturnType<typeof registryCalls>;
  let owner: LocalAccount;
  let client: LocalAccount;
  let validator: LocalAccount;
  const requestHash = keccak256(toHex('request before the fork'));

  const tables = async (): Promise<Snapshot> => ({
    agents: await database.db.rows(tableRow, sql`select id, owner_address, agent_uri, metadata from agents order by id`),
    feedbacks: await database.db.rows(
      tableRow,
      sql`select agent_id, client_address, feedback_index, value::text, tag1, revoked from feedbacks order by 1, 2, 3`,
    ),
    validations: await database.db.rows(tableRow, sql`select request_hash, response, tag from validations order by 1`),
  });
  // Ten confirmations: every block written after the fork is still provisional when the reorg comes.
  const index = () => catchUp(indexerDeps(database.db, chain, registries, { confirmations: 10 }));

  beforeAll(async () => {
    chain = await startLocalChain();
    database = await createTestDatabase();
    const deployer = await chain.fundedWallet();
    [owner, client, validator] = await Promise.all([chain.fundedWallet(), chain.fundedWallet(), chain.fundedWallet()]);
    registries = await deployRegistries(chain, deployer);
    calls = registryCalls(registries);
    await chain.write(owner, calls.register('https://agents.example/zero.json'));
    await chain.write(client, calls.giveFeedback(0n, 70n, 0, 'starred'));
    await chain.write(owner, calls.validationRequest(validator.address, 0n, requestHash));
    await chain.write(validator, calls.validationResponse(requestHash, 40, 'zk'));
    await chain.mine(12); // the rows so far are final
  }, 60_000);
  afterAll(async () => {
    await database?.dispose();
    await chain?.stop();
  });

  it('puts back every row the dropped blocks changed (inserted, updated, revoked) and keeps what the new branch has', async () => {
    await index();
    const beforeFork = await tables();
    const fork = await chain.testClient.snapshot();

    // The branch that will be dropped: a new agent, a URI change, a feedback and its revocation, a new validation answer.
    await chain.write(owner, calls.register('https://agents.example/dropped.json'));
    await chain.write(owner, calls.setAgentURI(0n, 'https://agents.example/zero-dropped.json'));
    await chain.write(client, calls.giveFeedback(0n, 10n, 0, 'starred'));
    await chain.write(client, calls.revokeFeedback(0n, 1n));
    await chain.write(validator, calls.validationResponse(requestHash, 100, 'zk'));
    await index();
    const onDroppedBranch = await tables();
    expect(onDroppedBranch.agents).toHaveLength(2);
    expect(onDroppedBranch.feedbacks).toEqual([
      expect.objectContaining({ feedback_index: 1n, revoked: true }),
      expect.objectContaining({ feedback_index: 2n, value: '10' }),
    ]);
    const [undoRows] = await database.db.rows(undoCount, sql`select count(*)::int as n from indexer_undo`);
    expect(undoRows?.n).toBeGreaterThan(0);

    // The reorg: back to the fork, and a different branch, longer than the dropped one.
    await chain.testClient.revert({ id: fork });
    await chain.write(client, calls.giveFeedback(0n, 95n, 0, 'starred'));
    await chain.mine(6);
    await index();

    const after = await tables();
    expect(after.agents).toEqual(beforeFork.agents);
    expect(after.validations).toEqual(beforeFork.validations);
    expect(after.feedbacks).toEqual([
      expect.objectContaining({ feedback_index: 1n, value: '70', revoked: false }),
      expect.objectContaining({ feedback_index: 2n, value: '95', revoked: false }),
    ]);
    const [state] = await database.db.rows(
      z.object({ tip_block: z.bigint(), tip_hash: z.string().nullable() }),
      sql`select tip_block, tip_hash from indexer_state`,
    );
    const head = await chain.publicClient.getBlock();
    expect(state).toEqual({ tip_block: head.number, tip_hash: head.hash });
  });

  it('once blocks are final their undo images are dropped', async () => {
    await chain.mine(12);
    await index();
    const [undoRows] = await database.db.rows(undoCount, sql`select count(*)::int as n from indexer_undo`);
    expect(undoRows?.n).toBe(0);
  });
});
