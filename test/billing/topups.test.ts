import { sql } from 'drizzle-orm';
import pino from 'pino';
import { type Address, createWalletClient, encodeFunctionData, type Hex, http, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { signInWallet } from '../../src/auth/members.js';
import { chainClient, type TopUpChain } from '../../src/chain/client.js';
import { scanTopUps, startTopUpWatcher } from '../../src/chain/topup-watcher.js';
import { UNOBSERVED } from '../../src/domain/observer.js';
import { type LocalChain, startLocalChain, usdcArtifact } from '../helpers/chain.js';
import { expectLedgerInvariant, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rest, type SignedIn, signIn } from '../helpers/sign-in.js';

const CONFIRMATIONS = 3;
const quietLog = pino({ level: 'silent' });

interface TopUpAnswer {
  status: string;
  creditedNow?: boolean;
  confirmations?: number;
  required?: number;
  topups?: { txHash: string; logIndex: number; amountMicroUsdc: string; status: string; from: string }[];
  error?: { code: string; reason: string };
}

describe('USDC top-ups verified on a local chain', () => {
  let chain: LocalChain;
  let gateway: TestGateway;
  let topUpChain: TopUpChain;
  let usdc: Address;
  let otherToken: Address;

  beforeAll(async () => {
    chain = await startLocalChain();
    const deployer = await chain.fundedWallet();
    usdc = await chain.deploy(usdcArtifact, ['USD Coin', 'USDC'], deployer);
    otherToken = await chain.deploy(usdcArtifact, ['Other Coin', 'OTH'], deployer);
    const treasury = privateKeyToAccount(generatePrivateKey()).address;
    topUpChain = { chainId: foundry.id, usdc, treasury, confirmations: CONFIRMATIONS };
    gateway = await startTestGateway({ rpcUrl: chain.rpcUrl, topUpChain });
  });
  afterAll(async () => {
    await gateway?.close();
    await chain?.stop();
  });

  const scan = () =>
    scanTopUps({ db: gateway.database.db, client: chainClient(chain.rpcUrl), chain: topUpChain, log: quietLog, observe: UNOBSERVED });

  /** Mints `amount` of `token` to the wallet, then sends it to `to` (the treasury unless told); returns the transfer's tx hash. */
  async function pay(wallet: LocalAccount, amount: bigint, options: { token?: Address; to?: Address } = {}): Promise<Hex> {
    const token = options.token ?? usdc;
    await chain.write(wallet, { address: token, abi: usdcArtifact.abi, functionName: 'mint', args: [wallet.address, amount] });
    return chain.write(wallet, {
      address: token,
      abi: usdcArtifact.abi,
      functionName: 'transfer',
      args: [options.to ?? topUpChain.treasury, amount],
    });
  }

  async function submit(session: SignedIn, txHash: string): Promise<[number, TopUpAnswer]> {
    const response = await rest(gateway, 'POST', '/v1/topups', { txHash }, session.token);
    return [response.status, (await response.json()) as TopUpAnswer];
  }

  async function balanceOf(orgId: string): Promise<bigint> {
    const [row] = await gateway.database.db.rows(
      z.object({ balance: z.bigint() }),
      sql`select balance from credit_accounts where org_id = ${orgId}`,
    );
    return row?.balance ?? -1n;
  }

  async function ledgerTopUps(orgId: string): Promise<{ amount: bigint; reason: string | null }[]> {
    return gateway.database.db.rows(
      z.object({ amount: z.bigint(), reason: z.string().nullable() }),
      sql`select amount, reason from ledger_entries where org_id = ${orgId} and kind = 'topup' order by id`,
    );
  }

  /** paygate_topups_credited_micro_usdc_total as the gateway's GET /metrics says */
  async function creditedByMetrics(): Promise<number> {
    const exposition = await (await gateway.app.request('/metrics')).text();
    return Number(/^paygate_topups_credited_micro_usdc_total (\S+)$/m.exec(exposition)?.[1] ?? Number.NaN);
  }

  async function member(): Promise<{ wallet: LocalAccount; session: SignedIn }> {
    const wallet = await chain.fundedWallet();
    return { wallet, session: await signIn(gateway, wallet) };
  }

  it('answers pending until the transfer has its confirmations, then credits 1 micro-USDC per base unit, once', async () => {
    const { wallet, session } = await member();
    const txHash = await pay(wallet, 2_500_000n);
    const creditedBefore = await creditedByMetrics();

    const [pendingStatus, pending] = await submit(session, txHash);
    expect(pendingStatus).toBe(202);
    expect(pending).toEqual({ status: 'pending', confirmations: 1, required: CONFIRMATIONS });
    expect(await balanceOf(session.orgId)).toBe(0n);

    await chain.mine(CONFIRMATIONS - 1);
    const [status, credited] = await submit(session, txHash);
    expect(status).toBe(200);
    expect(credited.creditedNow).toBe(true);
    expect(credited.topups).toEqual([
      expect.objectContaining({
        txHash: txHash.toLowerCase(),
        amountMicroUsdc: '2500000',
        status: 'credited',
        from: wallet.address.toLowerCase(),
      }),
    ]);
    expect(await balanceOf(session.orgId)).toBe(2_500_000n);

    const [againStatus, again] = await submit(session, txHash);
    expect(againStatus).toBe(200);
    expect(again.creditedNow).toBe(false);
    expect(await balanceOf(session.orgId)).toBe(2_500_000n);
    // the gateway's counter took the credit once, as the ledger did
    expect((await creditedByMetrics()) - creditedBefore).toBe(2_500_000);
    expect(await ledgerTopUps(session.orgId)).toEqual([{ amount: 2_500_000n, reason: expect.stringContaining(txHash.toLowerCase()) }]);
    await expectLedgerInvariant(gateway);
  });

  async function cursorBlock(): Promise<bigint> {
    const [cursor] = await gateway.database.db.rows(
      z.object({ blockNumber: z.bigint() }),
      sql`select block_number as "blockNumber" from chain_cursors where chain_id = ${foundry.id}`,
    );
    return cursor?.blockNumber ?? -1n;
  }

  /** Who recorded each top-up of the transaction: 'submitted' or 'watcher'. */
  async function recordedBy(txHash: Hex): Promise<string[]> {
    const rows = await gateway.database.db.rows(
      z.object({ source: z.string() }),
      sql`select source from topups where tx_hash = ${txHash.toLowerCase()}`,
    );
    return rows.map((row) => row.source);
  }

  /** A paid transfer whose block the watcher has not read yet, with its confirmations. */
  async function transferAheadOfTheWatcher(wallet: LocalAccount, amount: bigint): Promise<Hex> {
    await scan();
    const txHash = await pay(wallet, amount);
    const { blockNumber } = await chain.publicClient.getTransactionReceipt({ hash: txHash });
    expect(await cursorBlock()).toBeLessThan(blockNumber);
    await chain.mine(CONFIRMATIONS);
    return txHash;
  }

  it('the same transfer submitted 50 times while the watcher reads its block is credited once, by whichever recorded it', async () => {
    const { wallet, session } = await member();
    const txHash = await transferAheadOfTheWatcher(wallet, 7_000_000n);
    const { blockNumber } = await chain.publicClient.getTransactionReceipt({ hash: txHash });
    const [answers] = await Promise.all([Promise.all(Array.from({ length: 50 }, () => submit(session, txHash))), scan()]);
    expect(await cursorBlock()).toBeGreaterThanOrEqual(blockNumber);
    expect(answers.map(([status]) => status)).toEqual(answers.map(() => 200));
    const recorders = await recordedBy(txHash);
    expect(recorders).toHaveLength(1);
    // a submission that recorded it says so; when the watcher got there first, none does
    expect(answers.filter(([, body]) => body.creditedNow === true)).toHaveLength(recorders[0] === 'submitted' ? 1 : 0);
    await scan();
    expect(await balanceOf(session.orgId)).toBe(7_000_000n);
    expect(await ledgerTopUps(session.orgId)).toHaveLength(1);
    await expectLedgerInvariant(gateway);
  });

  it('a transfer the watcher credited is not credited again when submitted, nor one submitted when the watcher reads it', async () => {
    const { wallet, session } = await member();
    const seenFirst = await transferAheadOfTheWatcher(wallet, 1_100_000n);
    await scan();
    expect(await recordedBy(seenFirst)).toEqual(['watcher']);
    expect(await balanceOf(session.orgId)).toBe(1_100_000n);
    const [status, answer] = await submit(session, seenFirst);
    expect([status, answer.status, answer.creditedNow]).toEqual([200, 'credited', false]);

    const submittedFirst = await transferAheadOfTheWatcher(wallet, 2_200_000n);
    expect((await submit(session, submittedFirst))[1].creditedNow).toBe(true);
    await scan();
    expect(await cursorBlock()).toBeGreaterThanOrEqual(
      (await chain.publicClient.getTransactionReceipt({ hash: submittedFirst })).blockNumber,
    );
    expect(await recordedBy(submittedFirst)).toEqual(['submitted']);
    expect(await balanceOf(session.orgId)).toBe(3_300_000n);
    expect((await ledgerTopUps(session.orgId)).map((entry) => entry.amount)).toEqual([1_100_000n, 2_200_000n]);
    await expectLedgerInvariant(gateway);
  });

  it('refuses, with a reason, transfers to another address, of another token, reverted ones, unknown ones and strangers', async () => {
    const { wallet, session } = await member();
    const elsewhere = await pay(wallet, 1_000_000n, { to: privateKeyToAccount(generatePrivateKey()).address });
    const otherCoin = await pay(wallet, 1_000_000n, { token: otherToken });
    const reverted = await createWalletClient({ account: wallet, chain: foundry, transport: http(chain.rpcUrl) }).sendTransaction({
      to: usdc,
      data: encodeFunctionData({ abi: usdcArtifact.abi, functionName: 'transfer', args: [topUpChain.treasury, 10n ** 30n] }),
      gas: 200_000n,
    });
    await chain.publicClient.waitForTransactionReceipt({ hash: reverted });
    const stranger = await chain.fundedWallet();
    const strangers = await pay(stranger, 1_000_000n);
    await chain.mine(CONFIRMATIONS);

    const refusals = await Promise.all([elsewhere, otherCoin, reverted, strangers].map((hash) => submit(session, hash)));
    expect(refusals.map(([status, body]) => [status, body.error?.reason])).toEqual([
      [422, 'not_to_treasury'],
      [422, 'not_usdc'],
      [422, 'transaction_reverted'],
      [422, 'sender_not_in_organization'],
    ]);
    const [unknownStatus, unknown] = await submit(session, `0x${'ab'.repeat(32)}`);
    expect([unknownStatus, unknown.error?.reason]).toEqual([404, 'unknown_transaction']);
    const [badStatus, bad] = await submit(session, '0x1234');
    expect([badStatus, bad.error?.reason]).toEqual([400, 'invalid_body']);
    expect(await balanceOf(session.orgId)).toBe(0n);
  });

  it('a transfer dropped by a reorg before its confirmations is never credited', async () => {
    const { wallet, session } = await member();
    await scan();
    const snapshot = await chain.testClient.snapshot();
    const txHash = await pay(wallet, 4_000_000n);
    const [status] = await submit(session, txHash);
    expect(status).toBe(202);

    await chain.testClient.revert({ id: snapshot });
    await chain.mine(CONFIRMATIONS + 2);
    const [afterStatus, after] = await submit(session, txHash);
    expect([afterStatus, after.error?.reason]).toEqual([404, 'unknown_transaction']);
    await scan();
    expect(await balanceOf(session.orgId)).toBe(0n);
    expect(await ledgerTopUps(session.orgId)).toEqual([]);
  });

  it('USDC from a wallet of no organization is kept unclaimed, then credited once when the wallet joins one', async () => {
    const newcomer = await chain.fundedWallet();
    const txHash = await pay(newcomer, 3_000_000n);
    await chain.mine(CONFIRMATIONS);
    await scan();
    const [row] = await gateway.database.db.rows(
      z.object({ status: z.string(), orgId: z.string().nullable() }),
      sql`select status, org_id as "orgId" from topups where tx_hash = ${txHash.toLowerCase()}`,
    );
    expect(row).toEqual({ status: 'unclaimed', orgId: null });

    const session = await signIn(gateway, newcomer);
    expect(session.organizationCreated).toBe(true);
    expect(await balanceOf(session.orgId)).toBe(3_000_000n);
    await scan();
    expect(await balanceOf(session.orgId)).toBe(3_000_000n);

    const { session: owner } = await member();
    const joiner = await chain.fundedWallet();
    await pay(joiner, 1_500_000n);
    await chain.mine(CONFIRMATIONS);
    await scan();
    expect((await rest(gateway, 'POST', '/v1/members', { address: joiner.address, role: 'admin' }, owner.token)).status).toBe(201);
    expect(await balanceOf(owner.orgId)).toBe(1_500_000n);
    const listed = (await (await rest(gateway, 'GET', '/v1/topups', undefined, owner.token)).json()) as {
      topups: { amountMicroUsdc: string; from: string }[];
    };
    expect(listed.topups).toEqual([expect.objectContaining({ amountMicroUsdc: '1500000', from: joiner.address.toLowerCase() })]);
    await expectLedgerInvariant(gateway);
  });

  it('lists top-ups newest first in keyset pages; a cursor it did not give is a 400', async () => {
    const { wallet, session } = await member();
    for (const amount of [1_000_000n, 2_000_000n, 3_000_000n]) await pay(wallet, amount);
    await chain.mine(CONFIRMATIONS);
    await scan();
    type Page = { topups: { id: string; amountMicroUsdc: string }[]; nextCursor: string | null };
    const page = async (query: string) =>
      (await (await rest(gateway, 'GET', `/v1/topups${query}`, undefined, session.token)).json()) as Page;
    const first = await page('?limit=2');
    expect(first.topups.map((topUp) => topUp.amountMicroUsdc)).toEqual(['3000000', '2000000']);
    const second = await page(`?limit=2&cursor=${first.nextCursor}`);
    expect(second).toEqual({ topups: [expect.objectContaining({ amountMicroUsdc: '1000000' })], nextCursor: null });
    expect((await page('')).topups.map((topUp) => topUp.id)).toEqual([...first.topups, ...second.topups].map((topUp) => topUp.id));
    expect((await rest(gateway, 'GET', '/v1/topups?cursor=abc', undefined, session.token)).status).toBe(400);
    expect((await rest(gateway, 'GET', '/v1/topups?limit=501', undefined, session.token)).status).toBe(400);
  });

  it('the watcher notices a reorg deeper than its confirmations and reads the replaced blocks again', async () => {
    const { wallet, session } = await member();
    const before = await chain.testClient.snapshot();
    await chain.mine(CONFIRMATIONS + 3);
    await scan();
    const [scanned] = await gateway.database.db.rows(
      z.object({ blockNumber: z.bigint(), blockHash: z.string() }),
      sql`select block_number as "blockNumber", block_hash as "blockHash" from chain_cursors where chain_id = ${foundry.id}`,
    );

    // The blocks the cursor stands on are replaced by a fork whose first block pays the treasury.
    await chain.testClient.revert({ id: before });
    await pay(wallet, 600_000n);
    await chain.mine(CONFIRMATIONS + 6);
    const replaced = await chain.publicClient.getBlock({ blockNumber: scanned!.blockNumber });
    expect(replaced.hash).not.toBe(scanned!.blockHash);

    await scan();
    await scan();
    expect(await balanceOf(session.orgId)).toBe(600_000n);
    expect(await ledgerTopUps(session.orgId)).toHaveLength(1);
  });

  it('the watcher running in the background credits a member transfer without any submission', async () => {
    const { wallet, session } = await member();
    const stop = startTopUpWatcher({
      db: gateway.database.db,
      client: chainClient(chain.rpcUrl),
      chain: topUpChain,
      log: quietLog,
      observe: UNOBSERVED,
      intervalMs: 100,
    });
    try {
      await pay(wallet, 900_000n);
      await chain.mine(CONFIRMATIONS);
      const deadline = Date.now() + 10_000;
      while ((await balanceOf(session.orgId)) === 0n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await balanceOf(session.orgId)).toBe(900_000n);
    } finally {
      await stop();
    }
    const [cursor] = await gateway.database.db.rows(
      z.object({ blockNumber: z.bigint() }),
      sql`select block_number as "blockNumber" from chain_cursors where chain_id = ${foundry.id}`,
    );
    expect(cursor?.blockNumber).toBeGreaterThan(0n);
  });
});

describe('top-ups without a configured chain', () => {
  it('answer 503 with a reason', async () => {
    const gateway = await startTestGateway();
    try {
      const session = await signIn(gateway, privateKeyToAccount(generatePrivateKey()));
      const response = await rest(gateway, 'POST', '/v1/topups', { txHash: `0x${'cd'.repeat(32)}` }, session.token);
      expect(response.status).toBe(503);
      expect(((await response.json()) as TopUpAnswer).error?.reason).toBe('topups_not_configured');
    } finally {
      await gateway.close();
    }
  });
});

describe('a chain RPC that does not answer', () => {
  it('makes top-ups answer 503 chain_unavailable, never 500', async () => {
    const closed = 'http://127.0.0.1:9'; // discard port: nothing listens
    const topUpChain: TopUpChain = {
      chainId: foundry.id,
      usdc: `0x${'11'.repeat(20)}`,
      treasury: `0x${'22'.repeat(20)}`,
      confirmations: 1,
    };
    const gateway = await startTestGateway({ rpcUrl: closed, topUpChain });
    try {
      const wallet = privateKeyToAccount(generatePrivateKey());
      const session = await gateway.walletAuth.sessions.issue(await signInWalletDirectly(gateway, wallet.address), new Date());
      const topUp = await rest(gateway, 'POST', '/v1/topups', { txHash: `0x${'cd'.repeat(32)}` }, session.token);
      expect(topUp.status).toBe(503);
      expect(((await topUp.json()) as TopUpAnswer).error?.reason).toBe('chain_unavailable');
    } finally {
      await gateway.close();
    }
  });
});

async function signInWalletDirectly(gateway: TestGateway, address: string) {
  const { membership } = await signInWallet(gateway.database.db, address, null);
  return { address: membership.address, orgId: membership.orgId };
}
