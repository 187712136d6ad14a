import { z } from 'zod';
import { signInWallet } from '../../auth/members.js';
import { issueSignInNonce, verifySignIn } from '../../auth/sign-in.js';
import type { WalletAuth } from '../../auth/wallet-auth.js';
import { claimUnclaimedTopUps } from '../../billing/topups.js';
import type { Database } from '../../db/client.js';
import type { Observer } from '../../domain/observer.js';
import type { RateLimiter } from '../../limits/rate-limiter.js';
import { ApiError } from '../api-errors.js';
import { clientAddress, rateLimitHeaders } from '../rate-limit.js';
import { address, instant, role } from '../responses.js';
import { json, jsonRequest, restRoute, restRouter } from '../rest-route.js';

const verifyBody = z.object({
  message: z.string().min(1).max(4096),
  signature: z
    .string()
    .regex(/^0x[0-9a-fA-F]+$/, 'must be 0x-prefixed hex')
    .max(100_000),
});

const nonceAnswer = z.strictObject({ nonce: z.string(), expiresAt: instant, domain: z.string(), chainId: z.number().int() });

const sessionAnswer = z.strictObject({
  token: z.string().describe('the session token: send it as Authorization: Bearer'),
  expiresAt: instant,
  address,
  orgId: z.uuid(),
  role,
  organizationCreated: z.boolean().describe('true when this sign-in created the organization'),
});

const whoAmIAnswer = z.strictObject({ address, orgId: z.uuid(), role });

export const nonceRoute = restRoute({
  method: 'post',
  path: '/v1/auth/nonce',
  summary: 'A single-use EIP-4361 nonce, with the domain and chain a message must name',
  access: 'public',
  refusals: [429],
  responses: { 201: json(nonceAnswer, 'the nonce') },
});

export const verifyRoute = restRoute({
  method: 'post',
  path: '/v1/auth/verify',
  summary: 'Trade a signed EIP-4361 message for a session token (the first sign-in creates the organization)',
  access: 'public',
  request: jsonRequest(verifyBody),
  // 503: a smart wallet's signature is checked on chain, whose RPC may be down.
  refusals: [401, 503],
  responses: { 200: json(sessionAnswer, 'the session') },
});

export const sessionRoute = restRoute({
  method: 'get',
  path: '/v1/auth/session',
  summary: "The session's wallet, organization and role",
  access: { session: 'viewer' },
  responses: { 200: json(whoAmIAnswer, 'who is signed in') },
});

/**
 * Sign-in with Ethereum (EIP-4361): take a nonce, sign a message naming it, trade message and
 * signature for a short session token. A wallet's first sign-in creates its organization.
 */
export function signInRoutes(deps: { db: Database; rateLimiter: RateLimiter; observe: Observer } & WalletAuth) {
  const nonceLimit = { requests: deps.settings.noncesPerMinute, windowSeconds: 60 };
  const api = restRouter(deps);
  api.add(nonceRoute, async (c) => {
    // Anyone may ask, and each nonce is a stored row: one client address gets so many a minute.
    const client = clientAddress(c, deps.settings.trustProxy);
    if (client !== undefined) {
      const decision = await deps.rateLimiter.takeAll([{ policy: 'nonce', subject: `sign-in-nonce:${client}`, limit: nonceLimit }]);
      for (const [name, value] of Object.entries(rateLimitHeaders(decision))) c.header(name, value);
      if (!decision.allowed) {
        throw new ApiError(
          'rate_limited',
          `too many sign-in nonces from this address; try again in ${decision.retryAfterSeconds} s`,
          'nonce_rate',
        );
      }
    }
    const { nonce, expiresAt } = await issueSignInNonce(deps.db, { ttlS: deps.settings.nonceTtlS });
    return c.json({ nonce, expiresAt, domain: deps.settings.domain, chainId: deps.settings.chainId }, 201);
  });
  api.add(verifyRoute, async (c) => {
    const body = c.req.valid('json');
    const now = new Date();
    const outcome = await verifySignIn(
      deps.db,
      { message: body.message, signature: body.signature as `0x${string}` },
      { domain: deps.settings.domain, chainId: deps.settings.chainId, now },
      deps.checkSignature,
    );
    if (!outcome.ok) throw new ApiError('unauthorized', outcome.message, outcome.reason);
    const { membership, created } = await signInWallet(deps.db, outcome.address, c.get('requestId'));
    // USDC this wallet sent before it had an organization is credited now, once.
    if (created) await claimUnclaimedTopUps(deps.db, deps.observe, membership.address);
    const session = await deps.sessions.issue({ address: membership.address, orgId: membership.orgId }, now);
    c.get('log').info({ wallet: membership.address, org: membership.orgId, created }, 'wallet signed in');
    return c.json(
      { ...session, address: membership.address, orgId: membership.orgId, role: membership.role, organizationCreated: created },
      200,
    );
  });
  api.add(sessionRoute, (c) => {
    const member = c.get('member');
    return c.json({ address: member.address, orgId: member.orgId, role: member.role }, 200);
  });
  return api.router;
}
