import { x402Client } from '@x402/core/client';
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from '@x402/core/http';
import type { PaymentRequired, PaymentRequirements } from '@x402/core/types';
import { registerExactEvmScheme } from '@x402/evm/exact/client';
import { wrapFetchWithPayment } from '@x402/fetch';
import { sql } from 'drizzle-orm';
import { type Address, type Hex, type LocalAccount, parseAbi } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll } from 'vitest';
import { z } from 'zod';
import type { Config } from '../../src/config.js';
import type { Database } from '../../src/db/client.js';
import {
  deployTestUsdc,
  type LocalChain,
  signTransferAuthorization,
  startLocalChain,
  type TestToken,
  usdcArtifact,
} from '../helpers/chain.js';

/** What the x402 suites share (issue 21): a local chain with the test token, a treasury, payers and their signatures. */
export const NETWORK = 'eip155:31337';

export interface X402Chain {
  chain: LocalChain;
  token: TestToken;
  treasury: Address;
}

/** Starts anvil with TestUsdc deployed before the suite's gateways (register it first), stops it after. */
export function useX402Chain(): X402Chain {
  const kit = {} as X402Chain;
  beforeAll(async () => {
    kit.chain = await startLocalChain();
    kit.token = await deployTestUsdc(kit.chain, await kit.chain.fundedWallet());
    kit.treasury = privateKeyToAccount(generatePrivateKey()).address;
  });
  afterAll(async () => {
    await kit.chain?.stop();
  });
  return kit;
}

/** Gives a settler key ETH for the gas of its transferWithAuthorization calls. */
export async function fundSettler(kit: X402Chain, key: Hex): Promise<void> {
  await kit.chain.testClient.setBalance({ address: privateKeyToAccount(key).address, value: 10n ** 20n });
}

/** The gateway's x402 settings on the local chain, settling itself with `privateKey` unless `settle` says otherwise. */
export function x402Settings(kit: X402Chain, settle: NonNullable<Config['x402']>['settle']): NonNullable<Config['x402']> {
  return {
    network: NETWORK,
    asset: kit.token.address.toLowerCase() as `0x${string}`,
    payTo: kit.treasury.toLowerCase() as `0x${string}`,
    token: { name: kit.token.name, version: '2' },
    settle,
    rpcUrl: kit.chain.rpcUrl,
    offerTtlS: 600,
    paymentsPerMinute: 10_000,
    trustProxy: false,
  };
}

export const balanceOf = (kit: X402Chain, address: Address) =>
  kit.chain.publicClient.readContract({
    address: kit.token.address,
    abi: usdcArtifact.abi,
    functionName: 'balanceOf',
    args: [address],
  }) as Promise<bigint>;

/** A wallet with ETH and `usdc` of the test token. */
export async function payer(kit: X402Chain, usdc = 1_000_000n): Promise<LocalAccount> {
  const account = await kit.chain.fundedWallet();
  if (usdc > 0n) {
    await kit.chain.write(account, {
      address: kit.token.address,
      abi: parseAbi(['function mint(address to, uint256 value)']),
      functionName: 'mint',
      args: [account.address, usdc],
    });
  }
  return account;
}

/** @x402/fetch paying as `account` in the test token; `signatures` receives every PAYMENT-SIGNATURE it sends. */
export function payingFetch(kit: X402Chain, account: LocalAccount, signatures: string[] = []): typeof fetch {
  const recording: typeof fetch = async (input, init) => {
    const header = (input instanceof Request ? input.headers : new Headers(init?.headers)).get('payment-signature');
    if (header) signatures.push(header);
    return fetch(input, init);
  };
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: account });
  client.setSpendControls({ allowedAssets: [{ network: NETWORK, asset: kit.token.address, maxAmountPerPayment: '10000000' }] });
  return wrapFetchWithPayment(recording, client);
}

/** What the 402 of an unpaid call asks for. */
export async function askedFor(baseUrl: string, path: string, body: unknown): Promise<PaymentRequirements> {
  const response = await post(baseUrl, path, body);
  if (response.status !== 402) throw new Error(`expected 402, got ${response.status}`);
  const required = decodePaymentRequiredHeader(response.headers.get('payment-required') ?? '') as PaymentRequired;
  const accepted = required.accepts[0];
  if (!accepted) throw new Error('PAYMENT-REQUIRED accepts nothing');
  return accepted;
}

/** A PAYMENT-SIGNATURE header for `accepted`, signed by `account` as a client would (a fresh nonce each time). */
export async function signPayment(kit: X402Chain, account: LocalAccount, accepted: PaymentRequirements): Promise<string> {
  const signed = await signTransferAuthorization({
    token: kit.token,
    account,
    to: accepted.payTo as Address,
    value: BigInt(accepted.amount),
  });
  const a = signed.authorization;
  return encodePaymentSignatureHeader({
    x402Version: 2,
    accepted,
    payload: {
      signature: signed.signature,
      authorization: {
        from: a.from,
        to: a.to,
        value: a.value.toString(),
        validAfter: a.validAfter.toString(),
        validBefore: a.validBefore.toString(),
        nonce: a.nonce,
      },
    },
  });
}

export const post = (baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}, doFetch: typeof fetch = fetch) =>
  doFetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const PaymentRow = z.object({
  status: z.string(),
  payer: z.string(),
  amount: z.bigint(),
  transaction: z.string().nullable(),
  error: z.string().nullable(),
});

/** The x402_payments rows of a payer, oldest first. */
export const paymentsOf = (db: Database, account: LocalAccount) =>
  db.rows(
    PaymentRow,
    sql`select status::text as status, payer, amount, transaction, error from x402_payments where payer = ${account.address.toLowerCase()} order by id`,
  );

/** The organization a payer wallet is a member of (made at its first payment), if any. */
export async function orgOf(db: Database, account: LocalAccount): Promise<string | undefined> {
  const [row] = await db.rows(
    z.object({ org_id: z.string() }),
    sql`select org_id from org_members where address = ${account.address.toLowerCase()}`,
  );
  return row?.org_id;
}

const LedgerRow = z.object({ orgId: z.string(), kind: z.string(), amount: z.bigint() });

/** The ledger rows of a task, in the order written. */
export const ledgerOfTask = (db: Database, taskId: string) =>
  db.rows(LedgerRow, sql`select org_id as "orgId", kind::text as kind, amount from ledger_entries where task_id = ${taskId} order by id`);
