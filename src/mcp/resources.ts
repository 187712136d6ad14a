import type { ReadResourceResult, Resource } from '@modelcontextprotocol/sdk/types.js';
import { agentCardText } from '../a2a/card.js';
import type { CallingKey } from '../tasks/context.js';
import { mayCall } from '../tasks/key-scope.js';
import { displayUsdc } from '../tools/money.js';
import { TIER_COST, TIER_NAME, type ToolRegistry } from '../tools/registry.js';
import type { ToolTier } from '../tools/types.js';

export const PRICE_LIST_URI = 'a2a-paygate://price-list';
export const AGENT_CARD_URI = 'a2a-paygate://agent-card';

/** Tools the price list names at most, as the agent card's skills: the rest are found with GET /v1/tools. */
export const PRICE_LIST_TOOLS = 1_000;

export const MCP_RESOURCES: Resource[] = [
  {
    uri: PRICE_LIST_URI,
    name: 'price-list',
    title: 'Price list',
    description:
      'What each tier and each tool this API key may call costs per call, in micro-USDC and USDC; only answered calls are charged.',
    mimeType: 'application/json',
  },
  {
    uri: AGENT_CARD_URI,
    name: 'agent-card',
    title: 'A2A agent card',
    description: 'The gateway’s A2A agent card: the same tools for A2A clients, with its endpoint and authentication.',
    mimeType: 'application/json',
  },
];

/** The tiers' prices and, by name, the enabled tools `key` may call with theirs. */
export function priceList(key: CallingKey, tools: ToolRegistry): Record<string, unknown> {
  const callable = tools
    .offered()
    .filter((tool) => tool.enabled && mayCall(key, tool))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    currency: 'USDC',
    unit: 'micro-USDC (1 USDC = 1,000,000)',
    charged: 'only when a call answers; a refused or failed call is free',
    tiers: ([0, 1, 2, 3] as ToolTier[]).map((tier) => ({
      tier,
      name: TIER_NAME[tier],
      priceMicroUsdc: TIER_COST[tier]?.toString() ?? null,
    })),
    tools: callable.slice(0, PRICE_LIST_TOOLS).map((tool) => ({
      name: tool.name,
      version: tool.version,
      tier: tool.tier,
      priceMicroUsdc: tool.costMicroUsdc.toString(),
      priceUsdc: displayUsdc(tool.costMicroUsdc).replace(' USDC', ''),
      settlement: tool.settlement,
    })),
    ...(callable.length > PRICE_LIST_TOOLS
      ? { truncated: { listed: PRICE_LIST_TOOLS, callable: callable.length, more: 'GET /v1/tools searches every tool with its price' } }
      : {}),
  };
}

/** A resource's contents, or undefined for a URI that names none. */
export function readResource(
  uri: string,
  input: { key: CallingKey; tools: ToolRegistry; baseUrl: string; x402: boolean },
): ReadResourceResult | undefined {
  if (uri === PRICE_LIST_URI) {
    return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(priceList(input.key, input.tools)) }] };
  }
  if (uri === AGENT_CARD_URI) {
    return { contents: [{ uri, mimeType: 'application/json', text: agentCardText(input.baseUrl, input.tools, { x402: input.x402 }) }] };
  }
  return undefined;
}
