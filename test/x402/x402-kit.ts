import { randomUUID } from 'node:crypto';
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
import type { TestGatewayOptions } from '../helpers/gateway.js';
import { type SeededGateway, useSeededGateway } from '../helpers/seeded-gateway.js';

/** What the x402 suites share (issue 21): a local chain with the test token, a treasury, payers and their signatures. */
export const NETWORK = 'eip155:31337';
/** The seeded tool most suites pay for, and its price in USDC base units. */
export const CALL = '/v1/tools/getReputationSummary/call';
export const PRICE = 10_000n;

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

type Settle = NonNullable<Config['x402']>['settle'];

/** The gateway's x402 settings on the local chain, settled as `settle` says. */
export function x402Settings(kit: X402Chain, settle: Settle): NonNullable<Config['x402']> {
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

/** A gateway's options taking x402 on the local chain: settled as `settle` says, or by the gateway itself with the key `settle`. */
export function x402Gateway(kit: X402Chain, settle: Hex | Settle): TestGatewayOptions {
  return {
    x402: x402Settings(kit, typeof settle === 'string' ? { kind: 'self', rpcUrl: kit.chain.rpcUrl, privateKey: settle } : settle),
    rpcUrl: kit.chain.rpcUrl,
  };
}

export interface X402GatewayOptions {
  /** false: the settler's key never gets ETH for gas, so every settlement fails */
  gas?: boolean;
  /** how it settles instead of with a key of its own (a facilitator); read when the suite starts */
  settle?: () => Settle;
  /** the gateway's other options */
  gateway?: () => TestGatewayOptions;
}

/**
 * A listening gateway on demo data taking x402 on the local chain (register it after useX402Chain):
 * settling itself with a fresh `settlerKey`, given gas before the gateway starts unless `gas: false`,
 * or as `settle` says.
 */
export function useX402Gateway(kit: X402Chain, options: X402GatewayOptions = {}): SeededGateway & { settlerKey: Hex } {
  const settlerKey = generatePrivateKey();
  if (!options.settle && options.gas !== false) {
    beforeAll(async () => {
      await fundSettler(kit, settlerKey);
    });
  }
  const suite = useSeededGateway({
    listen: true,
    gateway: () => ({ ...x402Gateway(kit, options.settle?.() ?? settlerKey), ...options.gateway?.() }),
  });
  return Object.assign(suite, { settlerKey });
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

/** The x402 project's own client, paying as `account` in the test token. */
export function x402ClientOf(kit: X402Chain, account: LocalAccount): x402Client {
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: account });
  client.setSpendControls({ allowedAssets: [{ network: NETWORK, asset: kit.token.address, maxAmountPerPayment: '10000000' }] });
  return client;
}

/** @x402/fetch paying as `account` in the test token; `signatures` receives every PAYMENT-SIGNATURE it sends. */
export function payingFetch(kit: X402Chain, account: LocalAccount, signatures: string[] = []): typeof fetch {
  const recording: typeof fetch = async (input, init) => {
    const header = (input instanceof Request ? input.headers : new Headers(init?.headers)).get('payment-signature');
    if (header) signatures.push(header);
    return fetch(input, init);
  };
  return wrapFetchWithPayment(recording, x402ClientOf(kit, account));
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

/** What a payment may sign otherwise than `accepted` asks: another amount, expiry, chain or recipient, or another key than the payer's. */
export interface PaymentOverrides {
  value?: bigint;
  validBefore?: bigint;
  chainId?: number;
  to?: Address;
  signer?: LocalAccount;
}

/**
 * A PAYMENT-SIGNATURE header for `accepted`, signed by `account` as a client would (a fresh nonce
 * each time); what `overrides` changes it says in its `accepted` too, as a client would that chose it.
 */
export async function signPayment(
  kit: X402Chain,
  account: LocalAccount,
  accepted: PaymentRequirements,
  overrides: PaymentOverrides = {},
): Promise<string> {
  const value = overrides.value ?? BigInt(accepted.amount);
  const signed = await signTransferAuthorization({
    token: kit.token,
    account: overrides.signer ?? account,
    from: account.address,
    to: overrides.to ?? (accepted.payTo as Address),
    value,
    ...(overrides.chainId === undefined ? {} : { chainId: overrides.chainId }),
    ...(overrides.validBefore === undefined ? {} : { validBefore: overrides.validBefore }),
  });
  const a = signed.authorization;
  return encodePaymentSignatureHeader({
    x402Version: 2,
    accepted: {
      ...accepted,
      amount: value.toString(),
      ...(overrides.chainId === undefined ? {} : { network: `eip155:${overrides.chainId}` }),
      ...(overrides.to === undefined ? {} : { payTo: overrides.to }),
    },
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

/** A raw A2A 0.3 message/send (JSON-RPC id 1) asking getAgentProfile of agent 1, with `headers`. */
export const a2aToolCall = (baseUrl: string, headers: Record<string, string>) =>
  post(
    baseUrl,
    '/a2a',
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'message/send',
      params: {
        message: {
          kind: 'message',
          messageId: randomUUID(),
          role: 'user',
          parts: [{ kind: 'data', data: { tool: 'getAgentProfile', arguments: { agentId: 1 } } }],
        },
      },
    },
    headers,
  );

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

/** The kind and amount of each ledger row of a task, in the order written. */
export const bookedForTask = async (db: Database, taskId: string) =>
  (await ledgerOfTask(db, taskId)).map(({ kind, amount }) => ({ kind, amount }));
