import { sql } from 'drizzle-orm';
import type { Address, LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { z } from 'zod';
import { chainClient, type TopUpChain } from '../../src/chain/client.js';
import { startTopUpWatcher } from '../../src/chain/topup-watcher.js';
import { UNOBSERVED } from '../../src/domain/observer.js';
import { startIndexer } from '../../src/indexer/indexer.js';
import { indexerClient } from '../../src/indexer/run.js';
import { capturedLog, type LogLine } from '../helpers/captured-log.js';
import { type LocalChain, startLocalChain, usdcArtifact } from '../helpers/chain.js';
import { type FlakyRpc, type RpcMode, startFlakyRpc } from '../helpers/flaky-rpc.js';
import { expectLedgerInvariant, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { signIn } from '../helpers/sign-in.js';
import { waitFor } from '../helpers/wait.js';
import { deployRegistries, indexerDeps, type Registries, registryCalls } from '../indexer/support.js';

/**
 * The chain RPC flaps under the top-up watcher and the indexer, each run as in production (their
 * loop, their client), through a proxy in front of anvil that answers 503, takes requests and never
 * answers, or stops listening. Transfers and registry events happen on the chain meanwhile. Once the
 * RPC answers again, everything is read from the cursor: each transfer credited once, each event
 * one row, and each outage logged once.
 */
const CONFIRMATIONS = 2;
/** Short request deadlines, so a hanging RPC fails a pass within seconds (not so short that a busy test process times out). */
const RPC_TIMEOUT_MS = 1_000;
const OUTAGES: RpcMode[] = ['5xx', 'hang', 'refuse'];
const WARN = 40;
const INFO = 30;

/** The loop's log, printed if the test fails: which passes failed, and how. */
const printOnFailure = (lines: LogLine[]) =>
  onTestFailed(() =>
    console.error(lines.map((line) => `${line.level} ${line.msg} ${line.err ? JSON.stringify(line.err).slice(0, 300) : ''}`).join('\n')),
  );

const lineCount = (lines: LogLine[], level: number, message: RegExp) =>
  lines.filter((line) => line.level === level && message.test(line.msg)).length;

describe('the chain RPC answering 5xx, hanging, or gone for a while', () => {
  let chain: LocalChain;
  let rpc: FlakyRpc;
  let gateway: TestGateway;

  let topUpChain: TopUpChain;
  let usdc: Address;

  beforeAll(async () => {
    chain = await startLocalChain();
    rpc = await startFlakyRpc(chain.rpcUrl);
    usdc = await chain.deploy(usdcArtifact, ['USD Coin', 'USDC'], await chain.fundedWallet());
    topUpChain = { chainId: foundry.id, usdc, treasury: privateKeyToAccount(generatePrivateKey()).address, confirmations: CONFIRMATIONS };
    gateway = await startTestGateway({ rpcUrl: chain.rpcUrl, topUpChain });
  });
  afterAll(async () => {
    await gateway?.close();
    await rpc?.close();
    await chain?.stop();
  });

  describe('the top-up watcher', () => {
    /** Pays `amount` of USDC from the wallet to the treasury, straight on anvil, with its confirmations; the transfer's block. */
    async function pay(wallet: LocalAccount, amount: bigint): Promise<bigint> {
      await chain.write(wallet, { address: usdc, abi: usdcArtifact.abi, functionName: 'mint', args: [wallet.address, amount] });
      const hash = await chain.write(wallet, {
        address: usdc,
        abi: usdcArtifact.abi,
        functionName: 'transfer',
        args: [topUpChain.treasury, amount],
      });
      await chain.mine(CONFIRMATIONS);
      return (await chain.publicClient.getTransactionReceipt({ hash })).blockNumber;
    }

    const balanceOf = async (orgId: string) =>
      (
        await gateway.database.db.rows(z.object({ balance: z.bigint() }), sql`select balance from credit_accounts where org_id = ${orgId}`)
      )[0]?.balance;
    const topUpLedger = (orgId: string) =>
      gateway.database.db.rows(
        z.object({ amount: z.bigint() }),
        sql`select amount from ledger_entries where org_id = ${orgId} and kind = 'topup' order by id`,
      );
    const cursor = async () =>
      (
        await gateway.database.db.rows(
          z.object({ blockNumber: z.bigint() }),
          sql`select block_number as "blockNumber" from chain_cursors where chain_id = ${foundry.id}`,
        )
      )[0]?.blockNumber ?? -1n;

    it('credits each transfer made during an outage once the RPC answers again, once, from its cursor; one warning per outage', async () => {
      const { log, lines } = capturedLog('debug');
      printOnFailure(lines);
      const failing = () => lineCount(lines, WARN, /top-up watcher pass failed/) + lineCount(lines, 20, /top-up watcher pass failed/);
      const warnings = () => lineCount(lines, WARN, /top-up watcher pass failed/);
      const recoveries = () => lineCount(lines, INFO, /top-up watcher reads the chain again/);
      const wallet = await chain.fundedWallet();
      const { orgId } = await signIn(gateway, wallet);
      const stop = startTopUpWatcher({
        db: gateway.database.db,
        client: chainClient(rpc.url, { timeoutMs: RPC_TIMEOUT_MS }),
        chain: topUpChain,
        log,
        observe: UNOBSERVED,
        intervalMs: 50,
      });
      const paid: bigint[] = [];
      try {
        paid.push(1_000_000n);
        await pay(wallet, 1_000_000n);
        await waitFor(async () => (await balanceOf(orgId)) === 1_000_000n, 'the first transfer credited');

        for (const [n, mode] of OUTAGES.entries()) {
          await rpc.set(mode);
          const failedBefore = failing();
          const amount = BigInt(n + 2) * 1_000_000n;
          paid.push(amount);
          const block = await pay(wallet, amount);
          // several passes fail while the RPC is down; none credits the transfer
          await waitFor(() => failing() >= failedBefore + 2, `two failed passes (${mode})`);
          expect(await balanceOf(orgId)).toBe(paid.reduce((sum, one) => sum + one, 0n) - amount);
          expect(await cursor()).toBeLessThan(block);

          await rpc.set('pass');
          await waitFor(async () => (await cursor()) >= block, `the cursor past the transfer once the RPC answers (${mode})`);
          expect(await balanceOf(orgId)).toBe(paid.reduce((sum, one) => sum + one, 0n));
          expect(warnings()).toBe(n + 1);
          expect(recoveries()).toBe(n + 1);
        }

        // The RPC fails in the middle of a pass: the transfers are recorded, the cursor is not moved.
        await rpc.set('5xx');
        const amount = 9_000_000n;
        paid.push(amount);
        const block = await pay(wallet, amount);
        await waitFor(() => warnings() === OUTAGES.length + 1, 'the outage noticed');
        rpc.switchAfter('eth_getLogs', '5xx');
        await rpc.set('pass');
        await waitFor(async () => (await balanceOf(orgId)) === paid.reduce((sum, one) => sum + one, 0n), 'the transfer recorded');
        expect(rpc.mode).toBe('5xx');
        expect(await cursor()).toBeLessThan(block);
        // The range is read again when the RPC is back: the transfer is found again, not credited again.
        await rpc.set('pass');
        await waitFor(async () => (await cursor()) >= block, 'the cursor past the transfer');
        await waitFor(() => recoveries() === OUTAGES.length + 1, 'the recovery logged');
      } finally {
        await stop();
        await rpc.set('pass');
      }
      expect(await balanceOf(orgId)).toBe(paid.reduce((sum, one) => sum + one, 0n));
      expect((await topUpLedger(orgId)).map((row) => row.amount)).toEqual(paid);
      expect(warnings()).toBe(OUTAGES.length + 1);
      await expectLedgerInvariant(gateway);
    });
  });

  describe('the indexer', () => {
    let registries: Registries;

    beforeAll(async () => {
      registries = await deployRegistries(chain, await chain.fundedWallet());
    });

    const count = async (table: 'agents' | 'feedbacks') =>
      (await gateway.database.db.rows(z.object({ n: z.number() }), sql`select count(*)::int as n from ${sql.raw(table)}`))[0]!.n;
    const tip = async () =>
      (
        await gateway.database.db.rows(
          z.object({ tipBlock: z.bigint() }),
          sql`select tip_block as "tipBlock" from indexer_state where chain_id = ${foundry.id}`,
        )
      )[0]?.tipBlock ?? -1n;

    it('indexes the events written during each outage once the RPC answers again, each once, from its cursor', async () => {
      const { log, lines } = capturedLog('debug');
      printOnFailure(lines);
      const failing = () => lineCount(lines, WARN, /indexer pass failed/) + lineCount(lines, 20, /indexer pass failed/);
      const warnings = () => lineCount(lines, WARN, /indexer pass failed/);
      const recoveries = () => lineCount(lines, INFO, /indexer reads the chain again/);
      const [owner, client] = [await chain.fundedWallet(), await chain.fundedWallet()];
      const calls = registryCalls(registries);
      const startBlock = await chain.publicClient.getBlockNumber();
      const deps = {
        ...indexerDeps(gateway.database.db, chain, registries, { startBlock, confirmations: CONFIRMATIONS, intervalMs: 50 }),
        client: indexerClient(rpc.url, { timeoutMs: RPC_TIMEOUT_MS }),
        log,
      };
      const stop = startIndexer(deps);
      let feedbacks = 0;
      /** one agent registered and three feedbacks for it */
      const writeEvents = async (agent: number) => {
        await chain.write(owner, calls.register(`https://agents.example/${agent}.json`));
        for (let n = 0; n < 3; n++) await chain.write(client, calls.giveFeedback(BigInt(agent), BigInt(n), 0, 'flaps'));
        feedbacks += 3;
        await chain.mine(CONFIRMATIONS);
        return chain.publicClient.getBlockNumber();
      };
      try {
        const first = await writeEvents(0);
        await waitFor(async () => (await tip()) >= first, 'the first events indexed');

        for (const [n, mode] of OUTAGES.entries()) {
          await rpc.set(mode);
          const failedBefore = failing();
          const head = await writeEvents(n + 1);
          await waitFor(() => failing() >= failedBefore + 2, `two failed passes (${mode})`);
          expect(await tip()).toBeLessThan(head);
          expect(await count('feedbacks')).toBe(feedbacks - 3);

          await rpc.set('pass');
          await waitFor(async () => (await tip()) >= head, `the cursor at the head once the RPC answers (${mode})`);
          expect(warnings()).toBe(n + 1);
          expect(recoveries()).toBe(n + 1);
        }

        // The RPC fails between the logs read and the blocks read: the pass writes nothing, the next reads them again.
        await rpc.set('5xx');
        const head = await writeEvents(OUTAGES.length + 1);
        await waitFor(() => warnings() === OUTAGES.length + 1, 'the outage noticed');
        rpc.switchAfter('eth_getLogs', '5xx');
        const logReadsBefore = rpc.forwarded.eth_getLogs ?? 0;
        await rpc.set('pass');
        await waitFor(() => rpc.mode === '5xx', 'the logs read, then the RPC failing');
        expect(rpc.forwarded.eth_getLogs).toBe(logReadsBefore + 1);
        const failedBefore = failing();
        await waitFor(() => failing() >= failedBefore + 2, 'two more failed passes');
        expect(await count('feedbacks')).toBe(feedbacks - 3);
        expect(await tip()).toBeLessThan(head);
        await rpc.set('pass');
        await waitFor(async () => (await tip()) >= head, 'the cursor at the head');
        await waitFor(() => recoveries() === OUTAGES.length + 1, 'the recovery logged');
      } finally {
        await stop();
        await rpc.set('pass');
      }
      expect(await count('agents')).toBe(OUTAGES.length + 2);
      expect(await count('feedbacks')).toBe(feedbacks);
      const perAgent = await gateway.database.db.rows(
        z.object({ agentId: z.bigint(), n: z.number(), indexes: z.string() }),
        sql`select agent_id as "agentId", count(*)::int as n, string_agg(feedback_index::text, ',' order by feedback_index) as indexes
              from feedbacks group by agent_id order by agent_id`,
      );
      expect(perAgent).toEqual(
        Array.from({ length: OUTAGES.length + 2 }, (_, agent) => ({ agentId: BigInt(agent), n: 3, indexes: '1,2,3' })),
      );
    });
  });
});
