import { Hono } from 'hono';
import type { PublicClient } from 'viem';
import { z } from 'zod';
import { listMembers } from '../auth/members.js';
import type { Sessions } from '../auth/sessions.js';
import { listTopUps, recordTransfers, topUpsOfTransaction, type TopUp } from '../billing/topups.js';
import type { TopUpChain } from '../chain/client.js';
import { readSubmittedTransaction, type NotATopUp } from '../chain/usdc-transfers.js';
import type { Database } from '../db/client.js';
import { int8Cursor } from '../db/ranges.js';
import { displayUsdc } from '../tools/money.js';
import { ApiError, jsonBody, queryOf } from './api-errors.js';
import type { AppEnv } from './env.js';
import { requireSession } from './session-auth.js';
import type { Answer, topUpCreditedAnswer, topUpPendingAnswer, topUpsAnswer } from './responses.js';

export interface TopUpReader {
  client: PublicClient;
  chain: TopUpChain;
}

export const topUpsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: int8Cursor.optional(),
});

export const submission = z.object({ txHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x-prefixed 32-byte transaction hash') });

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
export function topUpRoutes(deps: { db: Database; sessions: Sessions; reader: TopUpReader | undefined }) {
  const configured = (): TopUpReader => {
    if (!deps.reader) throw new ApiError('unavailable', 'top-ups are not configured on this gateway (TREASURY_ADDRESS, CHAIN_RPC_URL)', 'topups_not_configured');
    return deps.reader;
  };
  return new Hono<AppEnv>()
    .get('/v1/topups', requireSession(deps, 'viewer'), async (c) => {
      const query = queryOf(c, topUpsQuery);
      const page = await listTopUps(deps.db, c.get('member').orgId, { limit: query.limit, beforeId: query.cursor });
      const last = page.at(-1);
      return c.json({
        topups: page.map(topUpView),
        nextCursor: page.length === query.limit && last ? last.id.toString() : null,
      } satisfies Answer<typeof topUpsAnswer>);
    })
    .post('/v1/topups', requireSession(deps, 'admin'), async (c) => {
      const { client, chain } = configured();
      const { txHash } = await jsonBody(c, submission);
      const orgId = c.get('member').orgId;
      const seen = await readSubmittedTransaction(client, chain, txHash.toLowerCase() as `0x${string}`);
      if (seen.kind === 'unknown') throw new ApiError('not_found', `chain ${chain.chainId} knows no transaction ${txHash}`, 'unknown_transaction');
      if (seen.kind === 'pending') {
        return c.json({ status: 'pending', confirmations: seen.confirmations, required: chain.confirmations } satisfies Answer<typeof topUpPendingAnswer>, 202);
      }
      if (seen.kind === 'refused') throw new ApiError('unprocessable', REFUSAL[seen.reason], seen.reason);
      const wallets = new Set((await listMembers(deps.db, orgId)).map((member) => member.address));
      const ours = seen.transfers.filter((transfer) => wallets.has(transfer.from));
      if (ours.length === 0) {
        throw new ApiError('unprocessable', "the USDC was sent from a wallet that is not one of this organization's members", 'sender_not_in_organization');
      }
      const creditedNow = await recordTransfers(deps.db, ours, 'submitted');
      const recorded = (await topUpsOfTransaction(deps.db, { chainId: chain.chainId, txHash })).filter((topUp) => topUp.orgId === orgId);
      c.get('log').info({ org: orgId, tx: txHash, creditedNow: creditedNow.length }, 'top-up submitted');
      return c.json({ status: 'credited', creditedNow: creditedNow.length > 0, topups: recorded.map(topUpView) } satisfies Answer<typeof topUpCreditedAnswer>);
    });
}
