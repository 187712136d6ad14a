import type { MiddlewareHandler } from 'hono';
import type { Database } from '../db/client.js';
import type { AppEnv } from '../http/env.js';
import { RpcCode, rpcErrors } from '../rpc/errors.js';
import { authenticateApiKey, type Principal } from './api-keys.js';
import { bearerToken } from './bearer.js';

/**
 * Requires `Authorization: Bearer <api key>`. Missing, unknown, revoked or expired keys are HTTP 401
 * with a JSON-RPC error body, before any method runs.
 */
export function requireApiKey(db: Database): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = bearerToken(c.req.header('authorization'));
    let principal: Principal | undefined;
    try {
      principal = key ? await authenticateApiKey(db, key) : undefined;
    } catch (error) {
      c.get('log').error({ err: error }, 'authentication lookup failed');
      return c.json(
        { jsonrpc: '2.0', id: null, error: rpcErrors.internal(c.get('requestId')).toJSON() },
        503,
      );
    }
    if (!principal) {
      c.header('WWW-Authenticate', 'Bearer realm="a2a-paygate"');
      const reason = key ? 'invalid_api_key' : 'missing_api_key';
      return c.json(
        {
          jsonrpc: '2.0',
          id: null,
          error: {
            code: RpcCode.Unauthorized,
            message: key
              ? 'Unauthorized: the API key is unknown, revoked or expired'
              : 'Unauthorized: send an API key as Authorization: Bearer <key>',
            data: { reason },
          },
        },
        401,
      );
    }
    c.set('principal', principal);
    await next();
  };
}
