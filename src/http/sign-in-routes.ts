import { Hono } from 'hono';
import { z } from 'zod';
import { signInWallet } from '../auth/members.js';
import { claimUnclaimedTopUps } from '../billing/topups.js';
import { issueSignInNonce, verifySignIn } from '../auth/sign-in.js';
import type { WalletAuth } from '../auth/wallet-auth.js';
import type { Database } from '../db/client.js';
import { ApiError, jsonBody } from './api-errors.js';
import type { AppEnv } from './env.js';
import { clientAddress, createRateLimiter } from './rate-limit.js';
import { requireSession } from './session-auth.js';
import type { Answer, nonceAnswer, sessionAnswer, whoAmIAnswer } from './responses.js';

export const verifyBody = z.object({
  message: z.string().min(1).max(4096),
  signature: z.string().regex(/^0x[0-9a-fA-F]+$/, 'must be 0x-prefixed hex').max(100_000),
});

/**
 * Sign-in with Ethereum (EIP-4361): take a nonce, sign a message naming it, trade message and
 * signature for a short session token. A wallet's first sign-in creates its organization.
 */
export function signInRoutes(deps: { db: Database } & WalletAuth) {
  const nonceLimiter = createRateLimiter({ perMinute: deps.settings.noncesPerMinute });
  return new Hono<AppEnv>()
    .post('/v1/auth/nonce', async (c) => {
      // Anyone may ask, and each nonce is a stored row: one client address gets so many a minute.
      const client = clientAddress(c, deps.settings.trustProxy);
      const waitS = client === undefined ? 0 : nonceLimiter.take(client);
      if (waitS > 0) {
        c.header('Retry-After', String(waitS));
        throw new ApiError('rate_limited', `too many sign-in nonces from this address; try again in ${waitS} s`, 'nonce_rate');
      }
      const { nonce, expiresAt } = await issueSignInNonce(deps.db, { ttlS: deps.settings.nonceTtlS });
      return c.json({ nonce, expiresAt, domain: deps.settings.domain, chainId: deps.settings.chainId } satisfies Answer<typeof nonceAnswer>, 201);
    })
    .post('/v1/auth/verify', async (c) => {
      const body = await jsonBody(c, verifyBody);
      const now = new Date();
      const outcome = await verifySignIn(
        deps.db,
        { message: body.message, signature: body.signature as `0x${string}` },
        { domain: deps.settings.domain, chainId: deps.settings.chainId, now },
        deps.checkSignature,
      );
      if (!outcome.ok) throw new ApiError('unauthorized', outcome.message, outcome.reason);
      const { membership, created } = await signInWallet(deps.db, outcome.address);
      // USDC this wallet sent before it had an organization is credited now, once.
      if (created) await claimUnclaimedTopUps(deps.db, membership.address);
      const session = await deps.sessions.issue({ address: membership.address, orgId: membership.orgId }, now);
      c.get('log').info({ wallet: membership.address, org: membership.orgId, created }, 'wallet signed in');
      return c.json({ ...session, address: membership.address, orgId: membership.orgId, role: membership.role, organizationCreated: created } satisfies Answer<typeof sessionAnswer>);
    })
    .get('/v1/auth/session', requireSession(deps, 'viewer'), (c) => {
      const member = c.get('member');
      return c.json({ address: member.address, orgId: member.orgId, role: member.role } satisfies Answer<typeof whoAmIAnswer>);
    });
}
