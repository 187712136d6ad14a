import type { Context, MiddlewareHandler } from 'hono';
import type { Caller } from '../auth/api-keys.js';
import { bearerToken } from '../auth/bearer.js';
import type { KeyCache } from '../auth/key-cache.js';
import { spendPeriodsAt } from '../billing/spend-caps.js';
import { DATABASE_RETRY_AFTER_S, isDatabaseUnavailable, warnDatabaseUnavailable } from '../db/unavailable.js';
import { type RpcError, rpcErrors } from '../rpc/errors.js';
import { inSpan } from '../tracing/spans.js';
import type { AppEnv } from './env.js';

/** How the endpoint answers a call refused before it runs, in its own wire shape. */
export type RefuseCall = (c: Context<AppEnv>, status: 401 | 429 | 503, error: RpcError) => Response;

/**
 * Requires `Authorization: Bearer <api key>`. Missing, unknown, revoked or expired keys are HTTP 401
 * with a JSON-RPC error body, before any method runs.
 */
/** `clock` tells the UTC day and month the key's spend caps are read in. */
export function requireApiKey(keys: KeyCache, clock: () => Date, refuse: RefuseCall): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = bearerToken(c.req.header('authorization'));
    let principal: Caller | undefined;
    try {
      principal = key
        ? await inSpan('authenticate', { 'auth.method': 'api_key' }, () => keys.authenticate(key, spendPeriodsAt(clock())))
        : undefined;
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        warnDatabaseUnavailable(c.get('log'), error);
        c.header('Retry-After', String(DATABASE_RETRY_AFTER_S));
        return refuse(c, 503, rpcErrors.databaseUnavailable(DATABASE_RETRY_AFTER_S));
      }
      c.get('log').error({ err: error }, 'authentication lookup failed');
      return refuse(c, 503, rpcErrors.internal(c.get('requestId')));
    }
    if (!principal) {
      c.header('WWW-Authenticate', 'Bearer realm="a2a-paygate"');
      return refuse(
        c,
        401,
        key
          ? rpcErrors.unauthorized('invalid_api_key', 'Unauthorized: the API key is unknown, revoked or expired')
          : rpcErrors.unauthorized('missing_api_key', 'Unauthorized: send an API key as Authorization: Bearer <key>'),
      );
    }
    c.set('principal', principal);
    await next();
  };
}
