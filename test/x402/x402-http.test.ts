import { x402Client } from '@x402/core/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader, encodePaymentSignatureHeader } from '@x402/core/http';
import type { PaymentRequired } from '@x402/core/types';
import { registerExactEvmScheme } from '@x402/evm/exact/client';
import { wrapFetchWithPayment } from '@x402/fetch';
import { sql } from 'drizzle-orm';
import { type Address, type LocalAccount, parseAbi } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OPERATOR } from '../../src/audit/record.js';
import { addMember } from '../../src/auth/members.js';
import { getCreditAccount } from '../../src/billing/accounts.js';
import type { Config } from '../../src/config.js';
import {
  deployTestUsdc,
  type LocalChain,
  signTransferAuthorization,
  startLocalChain,
  type TestToken,
  usdcArtifact,
} from '../helpers/chain.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';

/** x402 v2 over HTTP (issue 21): POST /v1/tools/{name}/call without an API key, paid per call on a local chain. */
let chain: LocalChain;
let token: TestToken;
let treasury: Address;
const NETWORK = 'eip155:31337';
const settlerKey = generatePrivateKey();

beforeAll(async () => {
  chain = await startLocalChain();
  const deployer = await chain.fundedWallet();
  token = await deployTestUsdc(chain, deployer);
  // the gateway's settler pays the gas of each transferWithAuthorization
  await chain.testClient.setBalance({ address: privateKeyToAccount(settlerKey).address, value: 10n ** 20n });
  treasury = privateKeyToAccount(generatePrivateKey()).address;
});
afterAll(async () => {
  await chain?.stop();
});

function x402Settings(): NonNullable<Config['x402']> {
  return {
    network: NETWORK,
    asset: token.address.toLowerCase() as `0x${string}`,
    payTo: treasury.toLowerCase() as `0x${string}`,
    token: { name: token.name, version: '2' },
    settle: { kind: 'self', rpcUrl: chain.rpcUrl, privateKey: settlerKey },
    rpcUrl: chain.rpcUrl,
    offerTtlS: 600,
    paymentsPerMinute: 1_000,
    trustProxy: false,
  };
}

const suite = useSeededGateway({ listen: true, gateway: () => ({ x402: { ...x402Settings() }, rpcUrl: chain.rpcUrl }) });

const tokenRead = (functionName: 'balanceOf', args: readonly unknown[]) =>
  chain.publicClient.readContract({ address: token.address, abi: usdcArtifact.abi, functionName, args }) as Promise<bigint>;

async function payer(usdc = 1_000_000n): Promise<LocalAccount> {
  const account = await chain.fundedWallet();
  await chain.write(account, {
    address: token.address,
    abi: parseAbi(['function mint(address to, uint256 value)']),
    functionName: 'mint',
    args: [account.address, usdc],
  });
  return account;
}

function payingFetch(account: LocalAccount) {
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: account });
  client.setSpendControls({ allowedAssets: [{ network: NETWORK, asset: token.address, maxAmountPerPayment: '1000000' }] });
  return wrapFetchWithPayment(fetch, client);
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}, doFetch: typeof fetch = fetch) =>
  doFetch(`${suite.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('happy', () => {
  it('asks 402 with PAYMENT-REQUIRED: the price in USDC base units, to the treasury, in the token named as it signs', async () => {
    const response = await post('/v1/tools/getReputationSummary/call', { agentId: 3 });
    expect(response.status).toBe(402);
    const required = decodePaymentRequiredHeader(response.headers.get('payment-required') ?? '') as PaymentRequired;
    expect(required).toMatchObject({
      x402Version: 2,
      accepts: [
        {
          scheme: 'exact',
          network: NETWORK,
          amount: '10000',
          asset: token.address.toLowerCase(),
          payTo: treasury.toLowerCase(),
          extra: { name: 'USD Coin', version: '2' },
        },
      ],
    });
    expect(required.resource.url).toMatch(/\/v1\/tools\/getReputationSummary\/call$/);
    expect(await response.json()).toMatchObject({ error: { code: 'payment_required', reason: 'payment_required' } });
  });

  it("@x402/fetch pays, gets the answer and PAYMENT-RESPONSE; the treasury gains the price once; the payer's new organization books it", async () => {
    const account = await payer();
    const before = await tokenRead('balanceOf', [treasury]);
    const response = await post('/v1/tools/getReputationSummary/call', { agentId: 3 }, {}, payingFetch(account));
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { taskId: string };
    expect(answer).toMatchObject({ tool: 'getReputationSummary', costMicroUsdc: '10000', charged: true, result: { agent_id: 3 } });
    const receipt = decodePaymentResponseHeader(response.headers.get('payment-response') ?? '');
    expect(receipt).toMatchObject({ success: true, network: NETWORK });
    expect(receipt.transaction).toMatch(/^0x[0-9a-f]{64}$/);
    expect((await tokenRead('balanceOf', [treasury])) - before).toBe(10_000n);
    expect(await tokenRead('balanceOf', [account.address])).toBe(990_000n);

    const db = suite.gateway.database.db;
    const [member] = await db.rows(
      z.object({ org_id: z.string() }),
      sql`select org_id from org_members where address = ${account.address.toLowerCase()}`,
    );
    expect(member).toBeDefined();
    const ledger = await db.rows(
      z.object({ kind: z.string(), amount: z.bigint() }),
      sql`select kind::text as kind, amount from ledger_entries where task_id = ${answer.taskId} order by id`,
    );
    expect(ledger).toEqual([
      { kind: 'x402_payment', amount: 10_000n },
      { kind: 'charge', amount: -10_000n },
    ]);
    expect((await getCreditAccount(db, member!.org_id))?.balance).toBe(0n);
  });

  it('calls paid at the same time all settle: the settler key sends their transfers with nonces it counts itself', async () => {
    // Without a nonce manager each transfer asked the chain for the settler's next nonce, so of
    // several settling at once all but one were "nonce too low" (the bench's x402-http: 85 % failed).
    const accounts = await Promise.all(Array.from({ length: 6 }, () => payer()));
    const before = await tokenRead('balanceOf', [treasury]);
    const responses = await Promise.all(
      accounts.map((account) => post('/v1/tools/getAgentProfile/call', { agentId: 2 }, {}, payingFetch(account))),
    );
    expect(responses.map((response) => response.status)).toEqual(accounts.map(() => 200));
    expect((await tokenRead('balanceOf', [treasury])) - before).toBe(6_000n);
  });

  it("a payer wallet that belongs to an organization pays for that organization's task", async () => {
    const account = await payer();
    const org = await suite.gateway.createOrg({ credits: 0n });
    await addMember(suite.gateway.database.db, { orgId: org.orgId, address: account.address, role: 'admin', by: OPERATOR });
    const response = await post('/v1/tools/getAgentProfile/call', { agentId: 2 }, {}, payingFetch(account));
    expect(response.status).toBe(200);
    const { taskId } = (await response.json()) as { taskId: string };
    const task = await suite.gateway.app.request(`/v1/tasks/${taskId}`, { headers: { authorization: `Bearer ${org.apiKey.key}` } });
    expect(task.status).toBe(200);
  });
});

describe('errors: nothing settles', () => {
  it('a replayed authorization is refused (DUPLICATE_NONCE) and pays once', async () => {
    const account = await payer();
    let signature = '';
    const recording: typeof fetch = async (input, init) => {
      const header = (input instanceof Request ? input.headers : new Headers(init?.headers)).get('payment-signature');
      if (header) signature = header;
      return fetch(input, init);
    };
    const client = new x402Client();
    registerExactEvmScheme(client, { signer: account });
    client.setSpendControls({ allowedAssets: [{ network: NETWORK, asset: token.address, maxAmountPerPayment: '1000000' }] });
    const first = await post('/v1/tools/getReputationSummary/call', { agentId: 3 }, {}, wrapFetchWithPayment(recording, client));
    expect(first.status).toBe(200);
    const before = await tokenRead('balanceOf', [treasury]);
    const again = await post('/v1/tools/getReputationSummary/call', { agentId: 3 }, { 'payment-signature': signature });
    expect(again.status).toBe(402);
    expect(await again.json()).toMatchObject({ error: { reason: 'duplicate_nonce', details: { code: 'DUPLICATE_NONCE' } } });
    expect(await tokenRead('balanceOf', [treasury])).toBe(before);
  });

  it('a failing tool settles nothing: the payer keeps its USDC and may use the authorization again', async () => {
    const account = await payer();
    const before = await tokenRead('balanceOf', [account.address]);
    // agent 999999 does not exist: the tool refuses it after the payment verified
    const response = await post('/v1/tools/getReputationSummary/call', { agentId: 999_999 }, {}, payingFetch(account));
    expect(response.status).toBe(400);
    expect(await tokenRead('balanceOf', [account.address])).toBe(before);
  });

  it('an authorization of the wrong amount is INVALID_AMOUNT; one past its time EXPIRED_PAYMENT; a bad signature INVALID_SIGNATURE', async () => {
    const account = await payer();
    const first = await post('/v1/tools/getReputationSummary/call', { agentId: 3 });
    const required = decodePaymentRequiredHeader(first.headers.get('payment-required') ?? '') as PaymentRequired;
    const accepted = required.accepts[0]!;
    const sign = async (overrides: { value?: bigint; validBefore?: bigint; signer?: LocalAccount }) => {
      const signed = await signTransferAuthorization({
        token,
        account: overrides.signer ?? account,
        from: account.address,
        to: treasury,
        value: overrides.value ?? 10_000n,
        ...(overrides.validBefore === undefined ? {} : { validBefore: overrides.validBefore }),
      });
      return encodePaymentSignatureHeader({
        x402Version: 2,
        accepted: { ...accepted, amount: (overrides.value ?? 10_000n).toString() },
        payload: {
          signature: signed.signature,
          authorization: {
            from: signed.authorization.from,
            to: signed.authorization.to,
            value: signed.authorization.value.toString(),
            validAfter: signed.authorization.validAfter.toString(),
            validBefore: signed.authorization.validBefore.toString(),
            nonce: signed.authorization.nonce,
          },
        },
      });
    };
    const reasonOf = async (header: string) => {
      const response = await post('/v1/tools/getReputationSummary/call', { agentId: 3 }, { 'payment-signature': header });
      expect(response.status).toBe(402);
      expect(response.headers.get('payment-required')).toBeTruthy();
      return ((await response.json()) as { error: { details: { code: string } } }).error.details.code;
    };
    expect(await reasonOf(await sign({ value: 9_999n }))).toBe('INVALID_AMOUNT');
    expect(await reasonOf(await sign({ validBefore: BigInt(Math.floor(Date.now() / 1000) - 10) }))).toBe('EXPIRED_PAYMENT');
    expect(await reasonOf(await sign({ signer: await chain.fundedWallet() }))).toBe('INVALID_SIGNATURE');
    expect(await reasonOf('not base64 at all')).toBe('INVALID_SIGNATURE');
  });
});
