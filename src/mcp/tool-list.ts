import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { CallingKey } from '../tasks/context.js';
import { mayCall } from '../tasks/key-scope.js';
import { displayUsdc } from '../tools/money.js';
import { TIER_NAME, type ToolRegistry, toolArgumentsSchema } from '../tools/registry.js';
import type { ToolDefinition } from '../tools/types.js';

/** Tools a page of `tools/list` holds: each carries its JSON Schemas, and a catalog may hold thousands. */
export const MCP_TOOLS_PAGE = 100;

/** "getAgentProfile" → "Get agent profile", "daily-forecast_v2" → "Daily forecast v2". */
export function titleOf(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s._-]+/)
    .filter(Boolean)
    .map((word) => word.toLowerCase());
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** What a call of `tool` costs, as its description says it to a model choosing a tool. */
export function priceLine(tool: ToolDefinition): string {
  return `Tier ${tool.tier} (${TIER_NAME[tool.tier]}): ${displayUsdc(tool.costMicroUsdc)} per call, charged only when it answers.`;
}

function toMcpTool(tool: ToolDefinition): Tool {
  const output = tool.resultSchema?.type === 'object' ? { outputSchema: tool.resultSchema as Tool['outputSchema'] } : {};
  return {
    name: tool.name,
    title: titleOf(tool.name),
    description: `${priceLine(tool)} ${tool.description}`,
    inputSchema: toolArgumentsSchema(tool) as Tool['inputSchema'],
    ...output,
    annotations: {
      title: titleOf(tool.name),
      // the built-in tools only read indexed chain data; what a provider's tool does is its own
      ...(tool.runsUpstream ? { openWorldHint: true } : { readOnlyHint: true, openWorldHint: false }),
    },
    _meta: {
      priceMicroUsdc: tool.costMicroUsdc.toString(),
      priceUsdc: displayUsdc(tool.costMicroUsdc).replace(' USDC', ''),
      tier: tool.tier,
      settlement: tool.settlement,
      version: tool.version,
      ...(tool.deprecationNote ? { deprecation: tool.deprecationNote } : {}),
    },
  };
}

/** The tools offered, by name, made once per catalog snapshot (`offered()` answers the same array while the catalog is unchanged). */
const sortedByName = new WeakMap<readonly ToolDefinition[], readonly ToolDefinition[]>();

function byName(offered: readonly ToolDefinition[]): readonly ToolDefinition[] {
  let sorted = sortedByName.get(offered);
  if (!sorted) {
    sorted = [...offered].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    sortedByName.set(offered, sorted);
  }
  return sorted;
}

const encodeToolsCursor = (name: string) => Buffer.from(name, 'utf8').toString('base64url');

/** The name a cursor of ours ends after; undefined for one we could not have given. */
export function decodeToolsCursor(cursor: string): string | undefined {
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  return name.length > 0 && name.length <= 200 && encodeToolsCursor(name) === cursor ? name : undefined;
}

/**
 * A page of the tools `key` may call (its tool list and tier apply), enabled ones only, by name,
 * after the tool named `after` (the previous page's last, read from its nextCursor: so a catalog
 * change between pages neither repeats nor skips a tool that stayed).
 */
export function listToolsFor(key: CallingKey, tools: ToolRegistry, after: string | undefined): { tools: Tool[]; nextCursor?: string } {
  const page: Tool[] = [];
  let last: string | undefined;
  for (const tool of byName(tools.offered())) {
    if (after !== undefined && tool.name <= after) continue;
    if (!tool.enabled || !mayCall(key, tool)) continue;
    if (page.length === MCP_TOOLS_PAGE) return { tools: page, ...(last === undefined ? {} : { nextCursor: encodeToolsCursor(last) }) };
    page.push(toMcpTool(tool));
    last = tool.name;
  }
  return { tools: page };
}
