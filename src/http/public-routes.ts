import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { accepts } from 'hono/accepts';
import { buildAgentCard } from '../a2a/card.js';
import type { Database } from '../db/client.js';
import { displayUsdc } from '../tools/money.js';
import { TIER_NAME, toolArgumentsSchema, type ToolRegistry } from '../tools/registry.js';
import type { AppEnv } from './env.js';
import { openApiDocument } from './openapi.js';
import type { Answer, indexerAnswer, toolsAnswer } from './responses.js';
import { indexerFreshness } from '../indexer/freshness.js';
import { REFERENCE_HTML } from './reference-page.js';
import { LANDING_HTML, landingIndex } from './landing-page.js';

/** Routes anyone may read: the landing page (HTML for browsers, JSON for API clients), health, readiness (with the indexer's freshness), the agent card, the price list. */
export function publicRoutes(deps: { db: Database; publicUrl: string | undefined; tools: ToolRegistry; indexedChainId: number | undefined }) {
  const freshness = async () => (deps.indexedChainId === undefined ? null : ((await indexerFreshness(deps.db, deps.indexedChainId)) ?? null));
  const baseUrl = (requestUrl: string) => deps.publicUrl?.replace(/\/$/, '') ?? new URL(requestUrl).origin;
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

  return new Hono<AppEnv>()
    .get('/', (c) => {
      c.header('Vary', 'Accept');
      // curl and most clients send */* or nothing: JSON unless HTML is asked for by name.
      const wanted = accepts(c, { header: 'Accept', supports: ['application/json', 'text/html'], default: 'application/json' });
      return wanted === 'text/html' ? c.html(LANDING_HTML) : c.json(landingIndex(baseUrl(c.req.url)));
    })
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      try {
        await deps.db.rows(sql`select 1`);
        return c.json({ status: 'ready', database: deps.db.kind, ...(deps.indexedChainId === undefined ? {} : { indexer: await freshness() }) });
      } catch (error) {
        c.get('log').warn({ err: error }, 'readiness check failed');
        return c.json({ status: 'unavailable', database: deps.db.kind }, 503);
      }
    })
    .get('/.well-known/agent-card.json', (c) => c.json(buildAgentCard(baseUrl(c.req.url), deps.tools)))
    .get('/v1/tools', (c) => c.json({ tools: priceList } satisfies Answer<typeof toolsAnswer>))
    .get('/v1/indexer', async (c) => c.json({ indexer: await freshness() } satisfies Answer<typeof indexerAnswer>))
    .get('/openapi.json', (c) => c.json(openApiDocument(baseUrl(c.req.url))))
    .get('/reference', (c) => c.html(REFERENCE_HTML));
}
