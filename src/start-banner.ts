import { randomUUID } from 'node:crypto';
import type { DemoOrganization } from './auth/demo-org.js';
import type { RateLimitStore } from './limits/rate-limiter.js';
import { displayUsdc } from './tools/money.js';

/**
 * What a person starting the gateway reads: where it is and what to do first. It goes to stderr;
 * stdout is the JSON log stream, which a demo key must never reach.
 */
export function startBanner(
  baseUrl: string,
  demo: (DemoOrganization & { available: bigint; keyFile: string }) | undefined,
  rateLimits: RateLimitStore,
  x402?: { network: string; payTo: string; settle: { kind: 'facilitator'; url: string } | { kind: 'self' } },
): string {
  const where = [
    '',
    `a2a-paygate is up at ${baseUrl}`,
    `  dashboard:   ${baseUrl}/dashboard`,
    `  REST API:    ${baseUrl}/reference`,
    `  agent card:  ${baseUrl}/.well-known/agent-card.json`,
    `  MCP:         ${baseUrl}/mcp (Streamable HTTP, Authorization: Bearer <api key>)`,
    `  rate limits: ${rateLimitsLine(rateLimits)}`,
    `  x402:        ${x402Line(x402)}`,
    '',
  ];
  return [...where, ...(demo ? demoLines(baseUrl, demo) : firstOrganizationLines()), ''].join('\n');
}

/** Whether calls without a key may pay per call, and who settles; a facilitator is named by its origin only. */
function x402Line(x402: Parameters<typeof startBanner>[3]): string {
  if (!x402) return 'off; set TREASURY_ADDRESS and X402_FACILITATOR_URL (or X402_SETTLER_PRIVATE_KEY) to take per-call payments';
  const by =
    x402.settle.kind === 'facilitator'
      ? `the facilitator at ${new URL(x402.settle.url).origin}`
      : 'this gateway (X402_SETTLER_PRIVATE_KEY)';
  return `calls without an API key pay per call to ${x402.payTo} on ${x402.network}, settled by ${by}`;
}

/** Where the counters live; a Redis is named by host and port only, never with the URL's credentials. */
function rateLimitsLine(store: RateLimitStore): string {
  return store.kind === 'redis'
    ? `shared through Redis at ${store.address}`
    : "in this instance's memory; set REDIS_URL to share them across instances";
}

function demoLines(baseUrl: string, demo: DemoOrganization & { available: bigint; keyFile: string }): string[] {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'SendMessage',
    params: {
      message: {
        messageId: randomUUID(),
        role: 'ROLE_USER',
        parts: [{ data: { tool: 'getReputationSummary', arguments: { agentId: 1 } } }],
      },
    },
  });
  return [
    `Demo organization ${demo.orgId}: ${displayUsdc(demo.available)} available; its API key is in ${demo.keyFile}`,
    'Try a paid call (0.01 USDC; resending the same messageId is not charged twice):',
    '',
    `curl -s ${baseUrl}/a2a -H 'Authorization: Bearer ${demo.apiKey}' -H 'Content-Type: application/json' -d '${body}'`,
  ];
}

function firstOrganizationLines(): string[] {
  return [
    'No demo data (DEMO=1 loads it). Create an organization with credit and its first API key:',
    '',
    '  npm run admin -- create-org --name <name> --credits 5000000    # 5 USDC; prints orgId and apiKey',
    '  npm run admin -- list-orgs                                      # organizations and balances',
    '  npm run admin -- --help                                         # grant, create-key, revoke-key, …',
  ];
}
