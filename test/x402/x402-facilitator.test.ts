import { createServer } from 'node:http';
import { x402Facilitator } from '@x402/core/facilitator';
import { decodePaymentResponseHeader } from '@x402/core/http';
import { toFacilitatorEvmSigner } from '@x402/evm';
import { registerExactEvmScheme } from '@x402/evm/exact/facilitator';
import { sql } from 'drizzle-orm';
import { createWalletClient, http, publicActions } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type LoopbackServer, listenOnLoopback } from '../helpers/loopback.js';
import {
  askedFor,
  balanceOf,
  bookedForTask,
  CALL,
  fundSettler,
  ledgerOfTask,
  NETWORK,
  PRICE,
  payer,
  payingFetch,
  paymentsOf,
  post,
  signPayment,
  useX402Chain,
  useX402Gateway,
} from './x402-kit.js';

/**
 * x402 settled through a facilitator over HTTP (X402_FACILITATOR_URL): a loopback facilitator of
 * the test's own, the x402 project's `x402Facilitator` with its exact EVM scheme, settling on anvil
 * with a key of its own. The gateway holds no key: it verifies and settles only through /verify and
 * /settle.
 */
const kit = useX402Chain();

/**
 * How the facilitator answers: `ok` always 200 (the SDK's answer as is); `status` 400 for a payment
 * invalid or not settled, as some facilitators do; `pending` a settle refused with 400 after sending
 * a transaction whose outcome it does not know (nothing is sent here); `down` a settle answered 503
 * with no settle response.
 */
type Mode = 'ok' | 'status' | 'pending' | 'down' | 'other-payer';
/** what `other-payer` says paid: a wallet that signed nothing */
const OTHER_PAYER = privateKeyToAccount(generatePrivateKey()).address;
const PENDING_TX = `0x${'7e'.repeat(32)}`;
let mode: Mode = 'ok';
const requests: { path: string; body: unknown }[] = [];
let facilitatorServer: LoopbackServer;
const facilitatorKey = generatePrivateKey();

beforeAll(async () => {
  await fundSettler(kit, facilitatorKey);
  const account = privateKeyToAccount(facilitatorKey);
  const wallet = createWalletClient({ account, transport: http(kit.chain.rpcUrl, { retryCount: 0 }) }).extend(publicActions);
  // the casts src/x402/facilitator.ts needs under viem 2.57
  const signer = toFacilitatorEvmSigner({ ...wallet, address: account.address } as unknown as Parameters<typeof toFacilitatorEvmSigner>[0]);
  const facilitator = registerExactEvmScheme(new x402Facilitator(), { signer, networks: NETWORK });
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    req.on('end', async () => {
      const answer = (status: number, value: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      try {
        const body = text ? (JSON.parse(text) as { paymentPayload: never; paymentRequirements: never }) : undefined;
        requests.push({ path: `${req.method} ${req.url}`, body });
        if (req.method === 'GET' && req.url === '/supported') return answer(200, await facilitator.getSupported());
        if (req.method === 'POST' && req.url === '/verify' && body) {
          const verified = await facilitator.verify(body.paymentPayload, body.paymentRequirements);
          if (mode === 'other-payer') return answer(200, { ...verified, payer: OTHER_PAYER });
          return answer(mode === 'status' && !verified.isValid ? 400 : 200, verified);
        }
        if (req.method === 'POST' && req.url === '/settle' && mode === 'pending') {
          return answer(400, {
            success: false,
            errorReason: 'settlement_pending',
            errorMessage: 'not mined yet',
            transaction: PENDING_TX,
            network: NETWORK,
          });
        }
        if (req.method === 'POST' && req.url === '/settle' && mode === 'down') return answer(503, { error: 'overloaded' });
        if (req.method === 'POST' && req.url === '/settle' && body) {
          const settled = await facilitator.settle(body.paymentPayload, body.paymentRequirements);
          return answer(mode === 'status' && !settled.success ? 400 : 200, settled);
        }
        answer(404, { error: 'not found' });
      } catch (error) {
        answer(500, { error: String(error) });
      }
    });
  });
  facilitatorServer = await listenOnLoopback(server);
});
afterAll(async () => {
  await facilitatorServer?.close();
});
beforeEach(() => {
  mode = 'ok';
  requests.length = 0;
});

const suite = useX402Gateway(kit, { settle: () => ({ kind: 'facilitator', url: facilitatorServer.baseUrl }) });

describe('settle: facilitator', () => {
  it('a call paid with @x402/fetch is verified and settled by the facilitator, answered with PAYMENT-RESPONSE, and booked', async () => {
    const account = await payer(kit);
    const before = await balanceOf(kit, kit.treasury);
    const response = await post(suite.baseUrl, CALL, { agentId: 3 }, {}, payingFetch(kit, account));
    expect(response.status, await response.clone().text()).toBe(200);
    const answer = (await response.json()) as { taskId: string; result: unknown };
    expect(answer.result).toMatchObject({ agent_id: 3 });
    const receipt = decodePaymentResponseHeader(response.headers.get('payment-response') ?? '');
    expect(receipt).toMatchObject({ success: true, network: NETWORK });
    expect(receipt.transaction).toMatch(/^0x[0-9a-f]{64}$/);
    // the facilitator's key sent the transfer, which it paid for: the gateway only asked
    const mined = await kit.chain.publicClient.getTransaction({ hash: receipt.transaction as `0x${string}` });
    expect(mined.from.toLowerCase()).toBe(privateKeyToAccount(facilitatorKey).address.toLowerCase());
    expect(requests.map((request) => request.path)).toEqual(['POST /verify', 'POST /settle']);
    expect(requests[1]?.body).toMatchObject({
      x402Version: 2,
      paymentPayload: { x402Version: 2, payload: { authorization: { from: account.address } } },
      paymentRequirements: { scheme: 'exact', network: NETWORK, amount: PRICE.toString(), payTo: kit.treasury.toLowerCase() },
    });

    expect((await balanceOf(kit, kit.treasury)) - before).toBe(PRICE);
    expect(await balanceOf(kit, account.address)).toBe(1_000_000n - PRICE);
    const db = suite.gateway.database.db;
    expect(await paymentsOf(db, account)).toEqual([expect.objectContaining({ status: 'settled', transaction: receipt.transaction })]);
    expect(await bookedForTask(db, answer.taskId)).toEqual([
      { kind: 'x402_payment', amount: PRICE },
      { kind: 'charge', amount: -PRICE },
    ]);
  });

  it('a replay is refused without running the tool again: DUPLICATE_NONCE', async () => {
    const account = await payer(kit);
    const signatures: string[] = [];
    const first = await post(suite.baseUrl, CALL, { agentId: 3 }, {}, payingFetch(kit, account, signatures));
    expect(first.status).toBe(200);
    const again = await post(suite.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': signatures[0]! });
    expect(again.status).toBe(402);
    expect(await again.json()).toMatchObject({ error: { details: { code: 'DUPLICATE_NONCE' } } });
    expect(await balanceOf(kit, account.address)).toBe(1_000_000n - PRICE);
  });

  it.each<Mode>(['ok', 'status'])(
    'a payer short of USDC is INSUFFICIENT_FUNDS whether the facilitator says so with a 200 or a 400 (%s)',
    async (answering) => {
      mode = answering;
      const poor = await payer(kit, PRICE / 2n);
      const accepted = await askedFor(suite.baseUrl, CALL, { agentId: 3 });
      const response = await post(suite.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': await signPayment(kit, poor, accepted) });
      expect(response.status).toBe(402);
      expect(await response.json()).toMatchObject({ error: { reason: 'insufficient_funds', details: { code: 'INSUFFICIENT_FUNDS' } } });
      expect(await paymentsOf(suite.gateway.database.db, poor)).toEqual([]);
      expect(requests.map((request) => request.path)).toEqual(['POST /verify']);
    },
  );

  it.each<[Mode, string, string]>([
    ['pending', 'settlement_pending', PENDING_TX],
    ['down', 'settle_unavailable', ''],
  ])(
    'a settle the facilitator refuses (%s) withholds the answer: 402 with PAYMENT-RESPONSE success false, the claim failed with what it was told, nothing booked',
    async (answering, reason, transaction) => {
      mode = answering;
      const account = await payer(kit);
      const accepted = await askedFor(suite.baseUrl, CALL, { agentId: 3 });
      const response = await post(suite.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': await signPayment(kit, account, accepted) });
      expect(response.status).toBe(402);
      expect(decodePaymentResponseHeader(response.headers.get('payment-response') ?? '')).toMatchObject({
        success: false,
        errorReason: reason,
        transaction,
      });
      const body = (await response.json()) as { error: { details: { code: string; taskId: string } } };
      expect(body.error.details.code).toBe('SETTLEMENT_FAILED');
      const db = suite.gateway.database.db;
      // a transaction the facilitator named is kept on the claim, for the operator to look for on-chain
      expect(await paymentsOf(db, account)).toEqual([
        expect.objectContaining({ status: 'failed', error: reason, transaction: transaction || null }),
      ]);
      expect(await ledgerOfTask(db, body.error.details.taskId)).toEqual([]);
      expect(await balanceOf(kit, account.address)).toBe(1_000_000n);
    },
  );

  it("a facilitator naming a payer other than the authorization's from is refused: nothing claimed, no organization made for that wallet", async () => {
    mode = 'other-payer';
    const account = await payer(kit);
    const accepted = await askedFor(suite.baseUrl, CALL, { agentId: 3 });
    const response = await post(suite.baseUrl, CALL, { agentId: 3 }, { 'payment-signature': await signPayment(kit, account, accepted) });
    expect(response.status).toBe(402);
    expect(await response.json()).toMatchObject({ error: { details: { code: 'INVALID_SIGNATURE', x402Reason: 'payer_mismatch' } } });
    const db = suite.gateway.database.db;
    expect(await paymentsOf(db, account)).toEqual([]);
    const [members] = await db.rows(
      z.object({ n: z.bigint() }),
      sql`select count(*)::int8 as n from org_members where address = ${OTHER_PAYER.toLowerCase()}`,
    );
    expect(members?.n).toBe(0n);
    expect(await balanceOf(kit, account.address)).toBe(1_000_000n);
  });
});
