import type { Context, MiddlewareHandler } from 'hono';
import { type Actor, walletActor } from '../audit/record.js';
import { bearerToken } from '../auth/bearer.js';
import { findMembership, type MemberRole, roleAtLeast } from '../auth/members.js';
import type { Sessions } from '../auth/sessions.js';
import type { Database } from '../db/client.js';
import { inSpan } from '../tracing/spans.js';
import { ApiError } from './api-errors.js';
import type { AppEnv } from './env.js';

/**
 * Requires `Authorization: Bearer <session token>` of a wallet that is still a member of the
 * token's organization with at least the `needed` role. Membership and role are read at every
 * request, so removing a wallet or lowering its role takes effect at once, not at token expiry.
 */
export function requireSession(deps: { db: Database; sessions: Sessions }, needed: MemberRole): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = bearerToken(c.req.header('authorization'));
    if (!token)
      throw new ApiError('unauthorized', 'sign in first: send the session token as Authorization: Bearer <token>', 'missing_session');
    if (token.startsWith('apg_')) {
      throw new ApiError(
        'unauthorized',
        'API keys call tools over A2A; this route needs a session from wallet sign-in',
        'api_key_not_a_session',
      );
    }
    const { claims, membership } = await inSpan('authenticate', { 'auth.method': 'session' }, async () => {
      const claims = await deps.sessions.read(token);
      return { claims, membership: claims && (await findMembership(deps.db, claims.address)) };
    });
    if (!claims) throw new ApiError('unauthorized', 'the session token is invalid or expired; sign in again', 'invalid_session');
    if (!membership || membership.orgId !== claims.orgId) {
      throw new ApiError('unauthorized', 'this wallet is no longer a member of the organization', 'not_a_member');
    }
    if (!roleAtLeast(membership.role, needed)) {
      throw new ApiError('forbidden', `this needs the ${needed} role; the wallet is ${membership.role}`, 'role_too_low');
    }
    c.set('member', membership);
    await next();
  };
}

/** The signed-in wallet, as the actor of the changes this request makes (the audit trail's `actor`, with the request id). */
export function sessionActor(c: Context<AppEnv>): Actor {
  return walletActor(c.get('member').address, c.get('requestId'));
}
