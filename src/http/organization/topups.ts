import type { MiddlewareHandler } from 'hono';
import type { PublicClient } from 'viem';
import { z } from 'zod';
import { listMembers } from '../../auth/members.js';
import { listTopUps, recordTransfers, type TopUp, topUpsOfTransaction } from '../../billing/topups.js';
import type { TopUpChain } from '../../chain/client.js';
import { type NotATopUp, readSubmittedTransaction } from '../../chain/usdc-transfers.js';
import type { Database } from '../../db/client.js';
import { int8Cursor } from '../../db/ranges.js';
import type { Observer } from '../../domain/observer.js';
import { displayUsdc } from '../../tools/money.js';
import { ApiError } from '../api-errors.js';
import type { AppEnv } from '../env.js';
import { address, display, instant, micro, nextCursor } from '../responses.js';
import { json, jsonRequest, type RestRouter, restRoute } from '../rest-route.js';

export interface TopUpReader {
  client: PublicClient;
  chain: TopUpChain;
}

const topUpsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: int8Cursor.optional(),
});

const submission = z.object({ txHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x-prefixed 32-byte transaction hash') });

const topUp = z.strictObject({
  id: z.string(),
  chainId: z.number().int(),
  txHash: z.string(),
  logIndex: z.number().int(),
  blockNumber: z.string(),
  from: address,
  amountMicroUsdc: micro,
  amountDisplay: display,
  status: z.enum(['credited', 'unclaimed']),
  source: z.enum(['submitted', 'watcher']),
  createdAt: instant,
  creditedAt: instant.nullable(),
});

const creditedAnswer = z.strictObject({
  status: z.literal('credited'),
  creditedNow: z.boolean().describe('false when an earlier submission or the watcher had credited it already'),
  topups: z.array(topUp),
});

const pendingAnswer = z.strictObject({ status: z.literal('pending'), confirmations: z.number().int(), required: z.number().int() });

export const topUpsRoute = restRoute({
  method: 'get',
  path: '/v1/topups',
  summary: "The organization's recorded USDC top-ups, the last recorded first, by keyset cursor",
  access: { session: 'viewer' },
  request: { query: topUpsQuery },
  responses: { 200: json(z.strictObject({ topups: z.array(topUp), nextCursor }), 'the top-ups') },
});

export const submitTopUpRoute = restRoute({
  method: 'post',
  path: '/v1/topups',
  summary: 'Credit a USDC transfer to the treasury (admins); 202 pending until confirmed',
  access: { session: 'admin' },
  request: jsonRequest(submission),
  refusals: [404, 422, 503],
  responses: {
    200: json(creditedAnswer, 'credited'),
    202: json(pendingAnswer, 'seen, waiting for confirmations'),
  },
});

const REFUSAL: Record<NotATopUp, string> = {
  transaction_reverted: 'the transaction reverted; nothing was transferred',
  not_usdc: 'the transaction sent another token to the treasury, not USDC',
  not_to_treasury: 'the transaction moved USDC, but not to the treasury',
  no_transfer: 'the transaction holds no token transfer',
};

function topUpView(topUp: TopUp) {
  return {
    id: topUp.id.toString(),
    chainId: topUp.chainId,
    txHash: topUp.txHash,
    logIndex: topUp.logIndex,
    blockNumber: topUp.blockNumber.toString(),
    from: topUp.from,
    amountMicroUsdc: topUp.amount.toString(),
    amountDisplay: displayUsdc(topUp.amount),
    status: topUp.status,
    source: topUp.source,
    createdAt: topUp.createdAt,
    creditedAt: topUp.creditedAt,
  };
}

/**
 * POST /v1/topups {txHash}: credits the organization with the USDC its wallets sent to the treasury
 * in that transaction, once it has its confirmations (202 `pending` until then); each transfer is
 * credited once, whoever submits it and however often, and whether or not the watcher saw it first.
 */
export function addTopUpRoutes(api: RestRouter, deps: { db: Database; reader: TopUpReader | undefined; observe: Observer }) {
  const configured = (): TopUpReader => {
    if (!deps.reader)
      throw new ApiError(
        'unavailable',
        'top-ups are not configured on this gateway (TREASURY_ADDRESS, CHAIN_RPC_URL)',
        'topups_not_configured',
      );
    return deps.reader;
  };
  // Checked before the body is read: on a gateway without top-ups, every submission is the same 503.
  const configuredFirst: MiddlewareHandler<AppEnv> = async (_c, next) => {
    configured();
    await next();
  };

  api.add(topUpsRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await listTopUps(deps.db, c.get('member').orgId, { limit: query.limit, beforeId: query.cursor });
    const last = page.at(-1);
    return c.json({ topups: page.map(topUpView), nextCursor: page.length === query.limit && last ? last.id.toString() : null }, 200);
  });
  api.add(
    submitTopUpRoute,
    async (c) => {
      const { client, chain } = configured();
      const { txHash } = c.req.valid('json');
      const orgId = c.get('member').orgId;
      const seen = await readSubmittedTransaction(client, chain, txHash.toLowerCase() as `0x${string}`);
      if (seen.kind === 'unknown')
        throw new ApiError('not_found', `chain ${chain.chainId} knows no transaction ${txHash}`, 'unknown_transaction');
      if (seen.kind === 'pending')
        return c.json({ status: 'pending' as const, confirmations: seen.confirmations, required: chain.confirmations }, 202);
      if (seen.kind === 'refused') throw new ApiError('unprocessable', REFUSAL[seen.reason], seen.reason);
      const wallets = new Set((await listMembers(deps.db, orgId)).map((member) => member.address));
      const ours = seen.transfers.filter((transfer) => wallets.has(transfer.from));
      if (ours.length === 0) {
        throw new ApiError(
          'unprocessable',
          "the USDC was sent from a wallet that is not one of this organization's members",
          'sender_not_in_organization',
        );
      }
      const creditedNow = await recordTransfers(deps.db, ours, 'submitted', deps.observe);
      const recorded = (await topUpsOfTransaction(deps.db, { chainId: chain.chainId, txHash })).filter((topUp) => topUp.orgId === orgId);
      c.get('log').info({ org: orgId, tx: txHash, creditedNow: creditedNow.length }, 'top-up submitted');
      return c.json({ status: 'credited' as const, creditedNow: creditedNow.length > 0, topups: recorded.map(topUpView) }, 200);
    },
    configuredFirst,
  );
}
