import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { buildAgentCard } from '../../a2a/card.js';
import type { TopUpChain } from '../../chain/client.js';
import type { Database } from '../../db/client.js';
import { indexerFreshness } from '../../indexer/freshness.js';
import type { RateLimiter } from '../../limits/rate-limiter.js';
import { displayUsdc } from '../../tools/money.js';
import { TIER_NAME, type ToolRegistry, toolArgumentsSchema } from '../../tools/registry.js';
import { baseUrlOf } from '../base-url.js';
import { address, display, instant, micro } from '../responses.js';
import { json, restRoute, restRouter } from '../rest-route.js';

const toolsAnswer = z.strictObject({
  tools: z.array(
    z.strictObject({
      name: z.string(),
      tier: z.number().int(),
      tier_name: z.string(),
      cost_micro_usdc: micro,
      cost_display: display,
      description: z.string(),
      version: z.string(),
      enabled: z.boolean(),
      disabled_reason: z.string().optional(),
      arguments_schema: z.record(z.string(), z.unknown()).describe('JSON Schema of the tool arguments'),
      example: z.strictObject({ tool: z.string(), arguments: z.record(z.string(), z.unknown()) }),
    }),
  ),
});

const configAnswer = z.strictObject({
  topUps: z
    .strictObject({ chainId: z.number().int(), usdc: address, treasury: address, confirmations: z.number().int() })
    .nullable()
    .describe('null when this gateway takes no on-chain top-ups'),
});

const indexerAnswer = z.strictObject({
  indexer: z
    .strictObject({
      chainId: z.number().int(),
      indexedBlock: z.string().describe('the last block read: its events are in the answers of the tools'),
      finalBlock: z.string().describe('the last block with its confirmations'),
      headBlock: z.string().nullable().describe('the chain head at the last look'),
      lagBlocks: z.number().int().nullable(),
      checkedAt: instant.nullable(),
    })
    .nullable()
    .describe('null when this gateway indexes no chain, or before the first pass'),
});

export const toolsRoute = restRoute({
  method: 'get',
  path: '/v1/tools',
  summary: 'The price list: every tool, its tier, price and argument JSON Schema',
  access: 'public',
  responses: { 200: json(toolsAnswer, 'the tools') },
});

export const configRoute = restRoute({
  method: 'get',
  path: '/v1/config',
  summary: 'What a dashboard needs to explain top-ups: chain, USDC contract, treasury, confirmations (null when not configured)',
  access: 'public',
  responses: { 200: json(configAnswer, 'the public settings') },
});

export const indexerRoute = restRoute({
  method: 'get',
  path: '/v1/indexer',
  summary: 'How fresh the ERC-8004 data is: the block indexed, the chain head and the lag',
  access: 'public',
  responses: { 200: json(indexerAnswer, 'the indexer state') },
});

/** Routes anyone may read: health, readiness (with the rate-limit store and the indexer's freshness), the agent card, the price list, the top-up settings. */
export function publicRoutes(deps: {
  db: Database;
  publicUrl: string | undefined;
  tools: ToolRegistry;
  indexedChainId: number | undefined;
  topUpChain: TopUpChain | undefined;
  rateLimiter: RateLimiter;
}) {
  const freshness = async () =>
    deps.indexedChainId === undefined ? null : ((await indexerFreshness(deps.db, deps.indexedChainId)) ?? null);
  const priceList = deps.tools.list().map((tool) => ({
    name: tool.name,
    tier: tool.tier,
    tier_name: TIER_NAME[tool.tier],
    cost_micro_usdc: tool.costMicroUsdc.toString(),
    cost_display: displayUsdc(tool.costMicroUsdc),
    description: tool.description,
    version: tool.version,
    enabled: tool.enabled,
    ...(tool.enabled ? {} : { disabled_reason: tool.disabledReason }),
    arguments_schema: toolArgumentsSchema(tool),
    example: { tool: tool.name, arguments: tool.example },
  }));
  const topUps = deps.topUpChain
    ? {
        chainId: deps.topUpChain.chainId,
        usdc: deps.topUpChain.usdc,
        treasury: deps.topUpChain.treasury,
        confirmations: deps.topUpChain.confirmations,
      }
    : null;

  const api = restRouter();
  api.add(toolsRoute, (c) => c.json({ tools: priceList }, 200));
  api.add(configRoute, (c) => c.json({ topUps }, 200));
  api.add(indexerRoute, async (c) => c.json({ indexer: await freshness() }, 200));
  return api.router
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      try {
        await deps.db.run(sql`select 1`);
        return c.json({
          status: 'ready',
          database: deps.db.kind,
          // Reported, never a reason to be unready: while Redis does not answer, rate limits fail open.
          rateLimits: await deps.rateLimiter.health(),
          ...(deps.indexedChainId === undefined ? {} : { indexer: await freshness() }),
        });
      } catch (error) {
        c.get('log').warn({ err: error }, 'readiness check failed');
        return c.json({ status: 'unavailable', database: deps.db.kind }, 503);
      }
    })
    .get('/.well-known/agent-card.json', (c) => c.json(buildAgentCard(baseUrlOf(deps.publicUrl, c.req.url), deps.tools)));
}
