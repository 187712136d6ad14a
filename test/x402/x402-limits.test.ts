import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { X402_EXTENSION_URI } from '../../src/a2a/x402-extension.js';
import { insertOffer, purgeExpiredOffers } from '../../src/x402/offers.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';
import { a2aToolCall, NETWORK } from './x402-kit.js';

/**
 * A caller without a key has no key's rate limits: each x402 request (an A2A offer, a payment
 * checked) counts against its client address instead, on both surfaces together. No chain is
 * reached: the payments here are refused before any would be.
 */
const suite = useSeededGateway({
  listen: true,
  gateway: {
    x402: {
      network: NETWORK,
      asset: `0x${'11'.repeat(20)}`,
      payTo: `0x${'22'.repeat(20)}`,
      token: { name: 'USD Coin', version: '2' },
      // never reached: nothing here verifies or settles
      settle: { kind: 'self', rpcUrl: 'http://127.0.0.1:9', privateKey: `0x${'33'.repeat(32)}` },
      rpcUrl: undefined,
      offerTtlS: 600,
      paymentsPerMinute: 3,
      trustProxy: false,
    },
  },
});

const httpPayment = () =>
  fetch(`${suite.baseUrl}/v1/tools/getAgentProfile/call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'payment-signature': 'bm90IGEgcGF5bWVudA==' },
    body: '{"agentId":1}',
  });
const a2aOffer = () => a2aToolCall(suite.baseUrl, { 'X-A2A-Extensions': X402_EXTENSION_URI });

describe('x402 requests per client address', () => {
  it('count on both surfaces together: past X402_PAYMENTS_PER_MINUTE, 429 payment_rate with Retry-After; asking the price stays free', async () => {
    expect((await httpPayment()).status).toBe(402);
    expect((await a2aOffer()).status).toBe(200);
    expect((await httpPayment()).status).toBe(402);
    const http = await httpPayment();
    expect(http.status).toBe(429);
    expect(Number(http.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await http.json()).toMatchObject({ error: { code: 'rate_limited', reason: 'payment_rate' } });
    const a2a = await a2aOffer();
    expect(a2a.status).toBe(429);
    expect(await a2a.json()).toMatchObject({ jsonrpc: '2.0', id: 1, error: { data: { reason: 'payment_rate' } } });
    // a 402 that only says the price checks no payment and is not counted
    const price = await fetch(`${suite.baseUrl}/v1/tools/getAgentProfile/call`, { method: 'POST', body: '{"agentId":1}' });
    expect(price.status).toBe(402);
  });
});

describe('A2A offers', () => {
  it('are deleted a day after they expired, paid or not; younger ones stay', async () => {
    const db = suite.gateway.database.db;
    const offer = (ttlSeconds: number) =>
      insertOffer(db, {
        taskId: randomUUID(),
        contextId: randomUUID(),
        message: { messageId: randomUUID(), role: 'user', parts: [{ kind: 'text', text: 'x' }] },
        tool: 'getAgentProfile',
        paymentRequired: { x402Version: 2, resource: { url: 'http://x' }, accepts: [] },
        ttlSeconds,
      });
    const old = await offer(10);
    const fresh = await offer(10);
    await db.run(sql`update x402_offers set expires_at = now() - interval '25 hours' where task_id = ${old.task_id}`);
    expect(await purgeExpiredOffers(db)).toBe(1);
    const left = await db.rows(
      z.object({ task_id: z.string() }),
      sql`select task_id from x402_offers where task_id in (${old.task_id}, ${fresh.task_id})`,
    );
    expect(left).toEqual([{ task_id: fresh.task_id }]);
  });
});
