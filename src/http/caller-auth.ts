import type { MiddlewareHandler } from 'hono';
import { authenticateApiKey } from '../auth/api-keys.js';
import { bearerToken } from '../auth/bearer.js';
import type { Sessions } from '../auth/sessions.js';
import type { Database } from '../db/client.js';
import { inSpan } from '../tracing/spans.js';
import { ApiError } from './api-errors.js';
import type { AppEnv } from './env.js';
import { requireSession } from './session-auth.js';

/**
 * Read routes take either credential: an organization's API key (what its agents and scripts hold)
 * or a wallet session (what the dashboard holds, any role). Either way the caller sees only its
 * own organization.
 */
export function requireCaller(deps: { db: Database; sessions: Sessions }): MiddlewareHandler<AppEnv> {
  const session = requireSession(deps, 'viewer');
  return async (c, next) => {
    const token = bearerToken(c.req.header('authorization'));
    if (!token?.startsWith('apg_')) {
      return session(c, async () => {
        c.set('caller', { orgId: c.get('member').orgId, via: 'session' });
        await next();
      });
    }
    const principal = await inSpan('authenticate', { 'auth.method': 'api_key' }, () => authenticateApiKey(deps.db, token));
    if (!principal) throw new ApiError('unauthorized', 'the API key is unknown, revoked or expired', 'invalid_api_key');
    c.set('caller', { orgId: principal.orgId, via: 'api_key' });
    await next();
  };
}
