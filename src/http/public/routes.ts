import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { agentCardText } from '../../a2a/card.js';
import type { TopUpChain } from '../../chain/client.js';
import type { Database } from '../../db/client.js';
import { isDatabaseUnavailable, warnDatabaseUnavailable } from '../../db/unavailable.js';
import { indexerFreshness } from '../../indexer/freshness.js';
import type { RateLimiter } from '../../limits/rate-limiter.js';
import type { ToolRegistry } from '../../tools/registry.js';
import { baseUrlOf } from '../base-url.js';
import { address, instant } from '../responses.js';
import { json, restRoute, restRouter } from '../rest-route.js';
import { addToolRoutes } from './tools.js';

/**
 * How long /readyz waits for the database: a server that hangs (or a connection attempt that does)
 * makes it unready now, not after the driver's connect timeout, so a load balancer polling it
 * takes the instance out promptly.
 */
const READINESS_TIMEOUT_MS = 2_000;

class ReadinessTimeout extends Error {
  constructor(ms: number) {
    super(`the database did not answer within ${ms} ms`);
    this.name = 'ReadinessTimeout';
  }
}

/** `work`, or a ReadinessTimeout after `ms` (the statement is left to finish or fail on its own). */
async function answersWithin<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReadinessTimeout(ms)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

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

/** Routes anyone may read: health, readiness (with the rate-limit store and the indexer's freshness), the agent card, the tools (search, price list, OpenAI definitions), the top-up settings. */
export function publicRoutes(deps: {
  db: Database;
  publicUrl: string | undefined;
  tools: ToolRegistry;
  indexedChainId: number | undefined;
  topUpChain: TopUpChain | undefined;
  rateLimiter: RateLimiter;
  /** whether catalog tools can be called here: SECRETS_KEY opens their upstream credentials */
  catalogCallable: boolean;
  /** x402 per-call payments are taken: the card declares the a2a-x402 extension */
  x402?: boolean;
}) {
  const freshness = async () =>
    deps.indexedChainId === undefined ? null : ((await indexerFreshness(deps.db, deps.indexedChainId)) ?? null);
  const topUps = deps.topUpChain
    ? {
        chainId: deps.topUpChain.chainId,
        usdc: deps.topUpChain.usdc,
        treasury: deps.topUpChain.treasury,
        confirmations: deps.topUpChain.confirmations,
      }
    : null;

  const api = restRouter();
  addToolRoutes(api, { db: deps.db, tools: deps.tools, catalogCallable: deps.catalogCallable });
  api.add(configRoute, (c) => c.json({ topUps }, 200));
  api.add(indexerRoute, async (c) => c.json({ indexer: await freshness() }, 200));
  return api.router
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      try {
        await answersWithin(deps.db.run(sql`select 1`), READINESS_TIMEOUT_MS);
        return c.json({
          status: 'ready',
          database: deps.db.kind,
          // Reported, never a reason to be unready: while Redis does not answer, rate limits fail open.
          rateLimits: await deps.rateLimiter.health(),
          ...(deps.indexedChainId === undefined ? {} : { indexer: await freshness() }),
        });
      } catch (error) {
        if (isDatabaseUnavailable(error)) warnDatabaseUnavailable(c.get('log'), error);
        else c.get('log').warn({ err: error }, 'readiness check failed');
        return c.json({ status: 'unavailable', database: deps.db.kind }, 503);
      }
    })
    .get('/.well-known/agent-card.json', (c) =>
      c.body(agentCardText(baseUrlOf(deps.publicUrl, c.req.url), deps.tools, { x402: deps.x402 === true }), 200, {
        'content-type': 'application/json',
      }),
    );
}
