import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import type { PaymentRequired } from '@x402/core/types';
import { describe, expect, it } from 'vitest';
import { OPERATOR } from '../../src/audit/record.js';
import { addMember } from '../../src/auth/members.js';
import { getCreditAccount } from '../../src/billing/accounts.js';
import {
  askedFor,
  balanceOf,
  bookedForTask,
  CALL,
  NETWORK,
  orgOf,
  type PaymentOverrides,
  payer,
  payingFetch,
  post,
  signPayment,
  useX402Chain,
  useX402Gateway,
} from './x402-kit.js';

/** x402 v2 over HTTP (issue 21): POST /v1/tools/{name}/call without an API key, paid per call on a local chain. */
const kit = useX402Chain();
const suite = useX402Gateway(kit);

describe('happy', () => {
  it('asks 402 with PAYMENT-REQUIRED: the price in USDC base units, to the treasury, in the token named as it signs', async () => {
    const response = await post(suite.baseUrl, CALL, { agentId: 3 });
    expect(response.status).toBe(402);
    const required = decodePaymentRequiredHeader(response.headers.get('payment-required') ?? '') as PaymentRequired;
    expect(required).toMatchObject({
      x402Version: 2,
      accepts: [
        {
          scheme: 'exact',
          network: NETWORK,
          amount: '10000',
          asset: kit.token.address.toLowerCase(),
          payTo: kit.treasury.toLowerCase(),
          extra: { name: 'USD Coin', version: '2' },
        },
      ],
    });
    expect(required.resource.url).toMatch(/\/v1\/tools\/getReputationSummary\/call$/);
    expect(await response.json()).toMatchObject({ error: { code: 'payment_required', reason: 'payment_required' } });
  });

  it("@x402/fetch pays, gets the answer and PAYMENT-RESPONSE; the treasury gains the price once; the payer's new organization books it", async () => {
    const account = await payer(kit);
    const before = await balanceOf(kit, kit.treasury);
    const response = await post(suite.baseUrl, CALL, { agentId: 3 }, {}, payingFetch(kit, account));
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { taskId: string };
    expect(answer).toMatchObject({ tool: 'getReputationSummary', costMicroUsdc: '10000', charged: true, result: { agent_id: 3 } });
    const receipt = decodePaymentResponseHeader(response.headers.get('payment-response') ?? '');
    expect(receipt).toMatchObject({ success: true, network: NETWORK });
    expect(receipt.transaction).toMatch(/^0x[0-9a-f]{64}$/);
    expect((await balanceOf(kit, kit.treasury)) - before).toBe(10_000n);
    expect(await balanceOf(kit, account.address)).toBe(990_000n);

    const db = suite.gateway.database.db;
    const orgId = await orgOf(db, account);
    expect(orgId).toBeDefined();
    expect(await bookedForTask(db, answer.taskId)).toEqual([
      { kind: 'x402_payment', amount: 10_000n },
      { kind: 'charge', amount: -10_000n },
    ]);
    expect((await getCreditAccount(db, orgId!))?.balance).toBe(0n);
  });

  it('calls paid at the same time all settle: the settler key sends their transfers with nonces it counts itself', async () => {
    // Without a nonce manager each transfer asked the chain for the settler's next nonce, so of
    // several settling at once all but one were "nonce too low" (the bench's x402-http: 85 % failed).
    const accounts = await Promise.all(Array.from({ length: 6 }, () => payer(kit)));
    const before = await balanceOf(kit, kit.treasury);
    const responses = await Promise.all(
      accounts.map((account) => post(suite.baseUrl, '/v1/tools/getAgentProfile/call', { agentId: 2 }, {}, payingFetch(kit, account))),
    );
    expect(responses.map((response) => response.status)).toEqual(accounts.map(() => 200));
    expect((await balanceOf(kit, kit.treasury)) - before).toBe(6_000n);
  });

  it("a payer wallet that belongs to an organization pays for that organization's task", async () => {
    const account = await payer(kit);
    const org = await suite.gateway.createOrg({ credits: 0n });
    await addMember(suite.gateway.database.db, { orgId: org.orgId, address: account.address, role: 'admin', by: OPERATOR });
    const response = await post(suite.baseUrl, '/v1/tools/getAgentProfile/call', { agentId: 2 }, {}, payingFetch(kit, account));
    expect(response.status).toBe(200);
    const { taskId } = (await response.json()) as { taskId: string };
    const task = await suite.gateway.app.request(`/v1/tasks/${taskId}`, { headers: { authorization: `Bearer ${org.apiKey.key}` } });
    expect(task.status).toBe(200);
  });
});

describe('errors: nothing settles', () => {
  it('a replayed authorization is refused (DUPLICATE_NONCE) and pays once', async () => {
    const account = await payer(kit);
    const signatures: string[] = [];
    const first = await post(suite.baseUrl, CALL, { agentId: 3 }, {}, payingFetch(kit, account, signatures));
    expect(first.status).toBe(200);
    const before = await balanceOf(kit, kit.treasury);
    const again = await post(suite.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': signatures.at(-1)! });
    expect(again.status).toBe(402);
    expect(await again.json()).toMatchObject({ error: { reason: 'duplicate_nonce', details: { code: 'DUPLICATE_NONCE' } } });
    expect(await balanceOf(kit, kit.treasury)).toBe(before);
  });

  it('a failing tool settles nothing: the payer keeps its USDC and may use the authorization again', async () => {
    const account = await payer(kit);
    const before = await balanceOf(kit, account.address);
    // agent 999999 does not exist: the tool refuses it after the payment verified
    const response = await post(suite.baseUrl, CALL, { agentId: 999_999 }, {}, payingFetch(kit, account));
    expect(response.status).toBe(400);
    expect(await balanceOf(kit, account.address)).toBe(before);
  });

  it('each refusal has its a2a-x402 code: INVALID_AMOUNT, EXPIRED_PAYMENT, NETWORK_MISMATCH, INVALID_RECIPIENT, INVALID_SIGNATURE', async () => {
    const account = await payer(kit);
    const accepted = await askedFor(suite.baseUrl, CALL, { agentId: 3 });
    const sign = (overrides: PaymentOverrides) => signPayment(kit, account, accepted, overrides);
    const reasonOf = async (header: string) => {
      const response = await post(suite.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': header });
      expect(response.status).toBe(402);
      expect(response.headers.get('payment-required')).toBeTruthy();
      return ((await response.json()) as { error: { details: { code: string } } }).error.details.code;
    };
    expect(await reasonOf(await sign({ value: 9_999n }))).toBe('INVALID_AMOUNT');
    expect(await reasonOf(await sign({ validBefore: BigInt(Math.floor(Date.now() / 1000) - 10) }))).toBe('EXPIRED_PAYMENT');
    // valid for 15 s: enough for the facilitator (6 s), not for a call of up to 10 s and its settlement
    expect(await reasonOf(await sign({ validBefore: BigInt(Math.floor(Date.now() / 1000) + 15) }))).toBe('EXPIRED_PAYMENT');
    expect(await reasonOf(await sign({ signer: await kit.chain.fundedWallet() }))).toBe('INVALID_SIGNATURE');
    expect(await reasonOf('not base64 at all')).toBe('INVALID_SIGNATURE');
    // signed for Base: another network than the one asked
    expect(await reasonOf(await sign({ chainId: 8453 }))).toBe('NETWORK_MISMATCH');
    expect(await reasonOf(await sign({ to: account.address }))).toBe('INVALID_RECIPIENT');
    // none of these moved anything
    expect(await balanceOf(kit, account.address)).toBe(1_000_000n);
  });
});
