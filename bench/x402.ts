import { randomBytes } from 'node:crypto';
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from '@x402/core/http';
import type { PaymentRequired, PaymentRequirements } from '@x402/core/types';
import { sql } from 'drizzle-orm';
import { type Address, createWalletClient, type Hex, http, type LocalAccount, parseAbi, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { z } from 'zod';
import { openDatabase } from '../src/db/client.js';
import { authorizationTypes, deployTestUsdc, type LocalChain, startLocalChain, type TestToken, usdcDomain } from '../test/helpers/chain.js';
import type { ChargedCounterReport } from './charged-counter.js';

/** payer wallets the scenario's payments come from, in turn (each a new organization at its first call) */
export const PAYERS = 64;
/**
 * Payments signed per second of load (warm-up and measured): far above what a gateway settles on
 * this project's 2-core machine (20-47 calls/s in the runs of 2026-12-04), so the pool is not spent;
 * a spent pool is reported. Signing takes about 0.5 ms each, before the load.
 */
const POOL_PER_S = 150;

/** The payments to sign for a scenario of `seconds` (warm-up and measured). */
export function paymentPoolSize(seconds: number): number {
  return Math.max(1_000, seconds * POOL_PER_S);
}

/** anvil's chain: x402's network is its CAIP-2 name */
const CHAIN_ID = 31337;
const NETWORK = `eip155:${CHAIN_ID}`;
/** USDC each payer wallet is minted: 1,000 USDC, a million Tier 0 calls */
const USDC_PER_PAYER = 1_000n * 1_000_000n;
const MINT_ABI = parseAbi(['function mint(address to, uint256 value)']);
const BALANCE_ABI = parseAbi(['function balanceOf(address owner) view returns (uint256)']);

/**
 * The chain the `x402-http` scenario pays on: a local anvil (a block mined per transaction, as the
 * tests run it), TestUsdc deployed, a settler key with ETH for gas, a treasury, and payer wallets
 * holding USDC. What a gateway needs to take x402 payments is `gatewayEnv`.
 */
export interface X402Chain {
  rpcUrl: string;
  token: TestToken;
  treasury: Address;
  payers: LocalAccount[];
  /** TREASURY_ADDRESS, CHAIN_ID, CHAIN_RPC_URL, USDC_ADDRESS, X402_SETTLER_PRIVATE_KEY, X402_TOKEN_NAME, X402_PAYMENTS_PER_MINUTE */
  gatewayEnv: Record<string, string>;
  /** the treasury's USDC on-chain, base units (micro-USDC) */
  treasuryBalance(): Promise<bigint>;
  /** the chain's height: anvil mines each transaction as it comes (several that come together share a block) */
  blocks(): Promise<number>;
  stop(): Promise<void>;
}

export async function startX402Chain(payerCount: number): Promise<X402Chain> {
  const chain: LocalChain = await startLocalChain();
  let stopping: Promise<void> | undefined;
  try {
    const deployer = await chain.fundedWallet();
    const token = await deployTestUsdc(chain, deployer);
    const settlerKey = generatePrivateKey();
    await chain.testClient.setBalance({ address: privateKeyToAccount(settlerKey).address, value: 10n ** 24n });
    const treasury = privateKeyToAccount(generatePrivateKey()).address;
    const payers = Array.from({ length: payerCount }, () => privateKeyToAccount(generatePrivateKey()));
    // one mint per payer from the deployer, sent back to back with its own nonces and waited for once
    const wallet = createWalletClient({ account: deployer, chain: foundry, transport: http(chain.rpcUrl, { retryCount: 0 }) });
    const first = await chain.publicClient.getTransactionCount({ address: deployer.address, blockTag: 'pending' });
    const hashes: Hex[] = [];
    for (const [n, payer] of payers.entries()) {
      hashes.push(
        await wallet.writeContract({
          address: token.address,
          abi: MINT_ABI,
          functionName: 'mint',
          args: [payer.address, USDC_PER_PAYER],
          nonce: first + n,
          gas: 100_000n,
        }),
      );
    }
    for (const hash of hashes) {
      const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success') throw new Error(`minting USDC to a payer failed (${hash})`);
    }
    return {
      rpcUrl: chain.rpcUrl,
      token,
      treasury,
      payers,
      gatewayEnv: {
        TREASURY_ADDRESS: treasury,
        CHAIN_ID: String(CHAIN_ID),
        CHAIN_RPC_URL: chain.rpcUrl,
        USDC_ADDRESS: token.address,
        X402_SETTLER_PRIVATE_KEY: settlerKey,
        X402_TOKEN_NAME: token.name,
        // every request of the load comes from 127.0.0.1: the highest the gateway takes, far above what it settles
        X402_PAYMENTS_PER_MINUTE: '100000',
      },
      treasuryBalance: () =>
        chain.publicClient.readContract({ address: token.address, abi: BALANCE_ABI, functionName: 'balanceOf', args: [treasury] }),
      blocks: async () => Number(await chain.publicClient.getBlockNumber()),
      // once: LocalChain.stop waits for an exit that already happened when called again
      stop: () => {
        stopping ??= chain.stop();
        return stopping;
      },
    };
  } catch (error) {
    await chain.stop();
    throw error;
  }
}

/**
 * What the gateway asks for a call of `tool` without a key: the 402's PAYMENT-REQUIRED, read once
 * per tool before the load (every call of a tool is asked the same).
 */
export async function paymentRequirementsOf(baseUrl: string, tool: string, args: Record<string, unknown>): Promise<PaymentRequirements> {
  const response = await fetch(`${baseUrl}/v1/tools/${tool}/call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  await response.body?.cancel();
  const header = response.headers.get('payment-required');
  if (response.status !== 402 || !header)
    throw new Error(`an unpaid call of ${tool} answered ${response.status}, not 402 with PAYMENT-REQUIRED`);
  const [accepted] = (decodePaymentRequiredHeader(header) as PaymentRequired).accepts;
  if (!accepted || accepted.network !== NETWORK) throw new Error(`the 402 of ${tool} asks for no payment on ${NETWORK}`);
  return accepted;
}

/**
 * A pool of PAYMENT-SIGNATURE headers signed before the load, so the load generator does no
 * signing while it is measured (a signature costs about 0.5 ms of its CPU): each an EIP-3009
 * `transferWithAuthorization` of the price to the treasury, from the payers in turn, with a fresh
 * random nonce, valid for an hour.
 */
export interface PaymentPool {
  /** the next unused header for a call `requirements` describes; undefined once the pool is spent */
  next(): string | undefined;
  signed: number;
  /** headers handed out */
  used(): number;
}

export async function signPaymentPool(chain: X402Chain, requirements: PaymentRequirements, size: number): Promise<PaymentPool> {
  const headers: string[] = [];
  const validBefore = BigInt(Math.floor(Date.now() / 1000) + 3_600);
  const domain = usdcDomain(chain.token, CHAIN_ID);
  const value = BigInt(requirements.amount);
  for (let n = 0; n < size; n++) {
    const account = chain.payers[n % chain.payers.length]!;
    const authorization = { from: account.address, to: chain.treasury, value, validAfter: 0n, validBefore, nonce: toHex(randomBytes(32)) };
    const signature = await account.signTypedData({
      domain,
      types: authorizationTypes,
      primaryType: 'TransferWithAuthorization',
      message: authorization,
    });
    headers.push(
      encodePaymentSignatureHeader({
        x402Version: 2,
        accepted: requirements,
        payload: {
          signature,
          authorization: {
            from: authorization.from,
            to: authorization.to,
            value: authorization.value.toString(),
            validAfter: authorization.validAfter.toString(),
            validBefore: authorization.validBefore.toString(),
            nonce: authorization.nonce,
          },
        },
      }),
    );
  }
  let taken = 0;
  return { next: () => headers[taken++], signed: size, used: () => Math.min(taken, size) };
}

const REQUESTS_TOTAL = /^paygate_http_requests_total\{(?<labels>[^}]*)\}\s+(?<value>\d+)/;

/** Requests the gateway has answered on the REST call route, from its GET /metrics (counted once each has ended). */
async function callsAnswered(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  let answered = 0;
  for (const line of text.split('\n')) {
    const sample = REQUESTS_TOTAL.exec(line)?.groups;
    if (sample && /route="[^"]*\/v1\/tools\/[^"]*\/call"/.test(sample.labels ?? '')) answered += Number(sample.value);
  }
  return answered;
}

/**
 * Waits until the gateway has answered `sent` calls on the REST call route, or its count has not
 * moved for QUIET_MS (a request set up but never sent), up to `timeoutMs`. A stopped load leaves
 * calls in flight (verifying, settling: seconds each when the gateway is cold and every payer's
 * first call makes its organization); each books its charge when it ends, so the charged counter
 * is read once they have. Returns the calls answered.
 */
export async function x402CallsEnded(baseUrl: string, sent: number, timeoutMs = 60_000): Promise<number> {
  const QUIET_MS = 3_000;
  const deadline = Date.now() + timeoutMs;
  let last = await callsAnswered(baseUrl);
  let quietSince = Date.now();
  while (last < sent && Date.now() - quietSince < QUIET_MS && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = await callsAnswered(baseUrl);
    if (now !== last) quietSince = Date.now();
    last = now;
  }
  return last;
}

/** What the run reports of its x402 scenario beside its row of the table. */
export interface X402BenchResult {
  scenario: string;
  paymentsSigned: number;
  /** requests that took a payment from the pool (warm-up included) */
  paymentsSent: number;
  /** the pool ran out: later requests went unpaid (402), so calls/s is bounded by the pool, not the gateway */
  poolSpent: boolean;
  /** blocks anvil mined while the scenario ran (the settlements; several that come together share one) */
  blocksMined: number;
  /** calls the x402 gateway had answered on its call route when its counter was read (the 402 asked first included) */
  callsAnsweredWhenRead: number;
  /** the x402 gateway's own charged counter against the charge rows it wrote */
  chargedCounter: ChargedCounterReport;
  money: X402MoneyReport;
}

/**
 * The money of x402 calls, checked on both sides once the x402 gateway has exited: the treasury's
 * USDC gained on-chain equals the `x402_payment` ledger rows (each booked settlement credits the
 * payer's organization the price, and its `charge` takes it back: the bench's money check holds
 * those organizations to balance = Σ amount like every other), and no claim is left `claimed`
 * (a call between its claim and its books when its gateway stopped). Claims `failed` (a settlement
 * that failed: the answer was withheld) or `released` (the tool failed) are reported, not faults:
 * the scenario counts them as errors.
 */
export interface X402MoneyReport {
  ok: boolean;
  treasuryGainedMicroUsdc: string;
  ledgerX402MicroUsdc: string;
  /** x402_payments rows by status */
  claims: Record<string, number>;
  /** organizations the payers' first calls made (signInWallet) */
  payerOrganizations: number;
  problem?: string;
}

export async function checkX402Money(databaseUrl: string, treasuryGained: bigint): Promise<X402MoneyReport> {
  const db = await openDatabase({ url: databaseUrl, poolSize: 1 });
  try {
    const [ledger] = await db.rows(
      z.object({ total: z.bigint() }),
      sql`select coalesce(sum(amount), 0)::int8 as total from ledger_entries where kind = 'x402_payment'`,
    );
    const statuses = await db.rows(
      z.object({ status: z.string(), count: z.number() }),
      sql`select status::text as status, count(*)::int as count from x402_payments group by status order by status`,
    );
    const [orgs] = await db.rows(z.object({ count: z.number() }), sql`select count(distinct org_id)::int as count from x402_payments`);
    const claims = Object.fromEntries(statuses.map((row) => [row.status, row.count]));
    const booked = ledger?.total ?? 0n;
    const problem =
      booked !== treasuryGained
        ? `the treasury gained ${treasuryGained} micro-USDC on-chain, the ledger booked ${booked}`
        : claims.claimed
          ? `${claims.claimed} claims left claimed`
          : undefined;
    return {
      ok: problem === undefined,
      treasuryGainedMicroUsdc: treasuryGained.toString(),
      ledgerX402MicroUsdc: booked.toString(),
      claims,
      payerOrganizations: orgs?.count ?? 0,
      ...(problem ? { problem } : {}),
    };
  } finally {
    await db.close();
  }
}

export function formatX402Money(report: X402MoneyReport): string {
  const claims = Object.entries(report.claims)
    .map(([status, count]) => `${count} ${status}`)
    .join(', ');
  return (
    `x402 money: ${report.ok ? 'ok' : `BROKEN: ${report.problem}`}: the treasury gained ${report.treasuryGainedMicroUsdc} micro-USDC on-chain, ` +
    `the ledger's x402_payment rows ${report.ledgerX402MicroUsdc}; claims: ${claims || 'none'}; ${report.payerOrganizations} payer organizations`
  );
}
