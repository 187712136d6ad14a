import type { Logger } from 'pino';
import { type Address, type Hex, type PublicClient, parseAbi } from 'viem';
import { closeExpiredClaim, creditUnansweredPayment, unresolvedClaims } from '../billing/x402-payments.js';
import type { Database } from '../db/client.js';
import { repeat } from '../repeat.js';
import { purgeExpiredOffers } from './offers.js';

const AUTHORIZATION_STATE = parseAbi(['function authorizationState(address authorizer, bytes32 nonce) view returns (bool)']);

/** Longer than any call runs (TOOL_TIMEOUT_MS and LLM_TIMEOUT_MS are at most 10 minutes), settlement included. */
export const CLAIM_STALE_AFTER_MS = 15 * 60_000;
const BATCH = 50;

/**
 * Asks the token what became of claims left unresolved (docs/adr/0023): an authorization used
 * on-chain whose call was never booked is credited to the payer's organization (the money is
 * never lost); one that expired unused is closed. The rest wait for a later sweep. Returns what
 * it credited and closed.
 */
export async function reconcileClaims(
  db: Database,
  chain: PublicClient,
  options: { claimedForMs?: number } = {},
): Promise<{ credited: number; closed: number }> {
  const claims = await unresolvedClaims(db, { claimedForMs: options.claimedForMs ?? CLAIM_STALE_AFTER_MS, limit: BATCH });
  let credited = 0;
  let closed = 0;
  for (const claim of claims) {
    const used = await chain.readContract({
      address: claim.asset as Address,
      abi: AUTHORIZATION_STATE,
      functionName: 'authorizationState',
      args: [claim.payer as Address, claim.nonce as Hex],
    });
    if (used) {
      if (await creditUnansweredPayment(db, claim.id)) credited++;
    } else if (claim.expired) {
      await closeExpiredClaim(db, claim.id);
      closed++;
    }
  }
  return { credited, closed };
}

/**
 * x402's upkeep, now and then every `intervalMs`: claims reconciled with the chain (when there is
 * an RPC to ask), and long-expired A2A offers deleted. Returns a stop function.
 */
export function startX402Upkeep(db: Database, chain: PublicClient | undefined, log: Logger, intervalMs: number): () => Promise<void> {
  return repeat(
    async () => {
      const purged = await purgeExpiredOffers(db);
      if (purged > 0) log.debug({ purged }, 'expired x402 offers deleted');
      if (!chain) return;
      const { credited, closed } = await reconcileClaims(db, chain);
      if (credited > 0) log.warn({ credited }, 'x402 payments settled without an answer were credited to their payers');
      if (closed > 0) log.info({ closed }, 'expired x402 claims closed');
    },
    { intervalMs, onError: (error) => log.error({ err: error }, 'x402 claim reconciliation failed') },
  );
}
