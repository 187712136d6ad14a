import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { bearerMatches } from '../../auth/bearer.js';
import { MAX_MANIFEST_BYTES, ToolManifestSchema } from '../../catalog/manifest.js';
import { listTools, registerTool, setToolStatus } from '../../catalog/store.js';
import type { Database } from '../../db/client.js';
import type { ToolRegistry } from '../../tools/registry.js';
import { ApiError, apiErrorResponse, jsonBody } from '../api-errors.js';
import type { AppEnv } from '../env.js';

/**
 * The operator API (issue 19): what `npm run admin` does for the tool catalog, over HTTP for
 * operators who run the gateway where no shell reaches, behind `Authorization: Bearer <ADMIN_TOKEN>`.
 * Without ADMIN_TOKEN it is not served at all. Not in /openapi.json, which documents what
 * organizations may call; the README documents it.
 */
export interface OperatorDeps {
  db: Database;
  /** ADMIN_TOKEN */
  adminToken: string;
  /** SECRETS_KEY */
  secretsKey: Buffer | undefined;
  /** the built-in tools, whose names the catalog cannot take */
  tools: ToolRegistry;
}

function requireOperator(token: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!bearerMatches(c.req.header('authorization'), token)) {
      c.header('WWW-Authenticate', 'Bearer realm="operator"');
      throw new ApiError('unauthorized', 'the operator API needs Authorization: Bearer <ADMIN_TOKEN>', 'invalid_admin_token');
    }
    await next();
  };
}

const toolVersion = z.object({ name: z.string().min(1).max(64), version: z.string().min(1).max(64) });

export function operatorRoutes(deps: OperatorDeps) {
  const reservedNames = new Set(deps.tools.list().map((tool) => tool.name));
  const setStatus = (status: 'deprecated' | 'retired') => async (c: Parameters<MiddlewareHandler<AppEnv>>[0]) => {
    const target = toolVersion.safeParse(c.req.param());
    if (!target.success) throw new ApiError('not_found', 'no such catalog tool', 'tool_not_found');
    // a version taken or retired is a domain refusal, answered 409 by the app's error mapping
    const tool = await setToolStatus(deps.db, { ...target.data, status });
    if (!tool) throw new ApiError('not_found', `no catalog tool ${target.data.name} ${target.data.version}`, 'tool_not_found');
    return c.json({ tool });
  };
  return new Hono<AppEnv>()
    .use('/admin/*', requireOperator(deps.adminToken))
    .use(
      '/admin/*',
      bodyLimit({
        maxSize: MAX_MANIFEST_BYTES,
        onError: (c) => apiErrorResponse(c, new ApiError('payload_too_large', `the body is over ${MAX_MANIFEST_BYTES} bytes`)),
      }),
    )
    .post('/admin/v1/tools', async (c) => {
      const manifest = await jsonBody(c, ToolManifestSchema);
      return c.json(await registerTool(deps.db, { manifest, secretsKey: deps.secretsKey, reservedNames }), 201);
    })
    .get('/admin/v1/tools', async (c) => c.json({ tools: await listTools(deps.db) }))
    .post('/admin/v1/tools/:name/versions/:version/deprecate', setStatus('deprecated'))
    .post('/admin/v1/tools/:name/versions/:version/retire', setStatus('retired'));
}
