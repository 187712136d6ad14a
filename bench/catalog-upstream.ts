import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ToolManifestSchema } from '../src/catalog/manifest.js';
import { registerTool } from '../src/catalog/store.js';
import { openDatabase } from '../src/db/client.js';

/** The catalog tool the `catalog-spread` scenario calls: an upstream of the bench's own on loopback. */
export const BENCH_CATALOG_TOOL = 'benchEcho';

export interface BenchUpstream {
  /** what the gateway needs to open and reach the tool: SECRETS_KEY, and loopback upstreams allowed */
  gatewayEnv: Record<string, string>;
  /** requests the upstream answered */
  answered(): number;
  close(): Promise<void>;
}

/**
 * Starts the upstream (it answers each POST at once with a small JSON object, so the scenario
 * measures the gateway's side of a catalog call: the argument check, the signed request, the result
 * check, the charge) and registers its tool in the bench database, before the gateway starts.
 */
export async function startBenchUpstream(databaseUrl: string): Promise<BenchUpstream> {
  let answered = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      answered += 1;
      const agentId = (JSON.parse(body) as { arguments: { agentId: number } }).arguments.agentId;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ agentId, score: agentId % 100 }));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const secretsKey = randomBytes(32);
  const db = await openDatabase({ url: databaseUrl, poolSize: 1 });
  try {
    await registerTool(db, {
      manifest: ToolManifestSchema.parse({
        name: BENCH_CATALOG_TOOL,
        version: '1.0.0',
        description: 'Echoes an agent id with a score: an upstream of the bench on loopback',
        tier: 0,
        settlement: 'instant',
        argumentsSchema: {
          type: 'object',
          properties: { agentId: { type: 'integer', minimum: 1 } },
          required: ['agentId'],
          additionalProperties: false,
        },
        resultSchema: { type: 'object', properties: { score: { type: 'integer' } }, required: ['score'] },
        upstream: { url: `http://127.0.0.1:${port}/score`, timeoutMs: 5_000, headers: { 'X-Api-Key': 'bench-provider-key' } },
      }),
      secretsKey,
      reservedNames: new Set(),
    });
  } finally {
    await db.close();
  }
  return {
    gatewayEnv: { SECRETS_KEY: secretsKey.toString('hex'), UPSTREAM_ALLOW_PRIVATE_NETWORKS: '1' },
    answered: () => answered,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
