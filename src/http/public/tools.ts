import { z } from 'zod';
import { deprecationNote } from '../../catalog/catalog-tool.js';
import { resolveVersion } from '../../catalog/live-catalog.js';
import {
  decodeCursor,
  encodeCursor,
  offeredVersions,
  type SearchableTool,
  type SearchHit,
  searchTools,
  type ToolQuery,
} from '../../catalog/search.js';
import type { CatalogToolView } from '../../catalog/store.js';
import type { Database } from '../../db/client.js';
import { displayUsdc } from '../../tools/money.js';
import { TIER_NAME, type ToolRegistry, toolArgumentsSchema } from '../../tools/registry.js';
import type { ToolDefinition, ToolTier } from '../../tools/types.js';
import { display, micro, nextCursor } from '../responses.js';
import { json, type RestRouter, restRoute } from '../rest-route.js';

/** The longest query read: a search box's worth; longer is refused, not cut. */
export const MAX_QUERY_LENGTH = 200;
/** Tools a page of the price list holds at most: each carries its versions' schemas. */
const MAX_TOOLS_PAGE = 100;
/** OpenAI takes at most 128 tools in one request, so a page of definitions is at most what one request can carry. */
const MAX_OPENAI_PAGE = 128;
/** OpenAI's rule for a function's name. */
const OPENAI_FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const schema = z.record(z.string(), z.unknown());

const searchQuery = (maxLimit: number, fallback: number) =>
  z.strictObject({
    q: z
      .string()
      .max(MAX_QUERY_LENGTH, `must be at most ${MAX_QUERY_LENGTH} characters`)
      .optional()
      .describe('words to look for in names (camel-case parts too), descriptions and tags; "quotes" for a phrase, -word to exclude'),
    tag: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be a tag: lower-case letters, digits and -, up to 32')
      .optional(),
    tier: z.enum(['0', '1', '2', '3'], { error: 'must be 0, 1, 2 or 3' }).transform(Number).optional(),
    limit: z.coerce.number().int().min(1).max(maxLimit).default(fallback),
    cursor: z.string().max(256).optional().describe('nextCursor of the previous page, with the same q, tag and tier'),
  });

const toolVersion = z.strictObject({
  version: z.string(),
  status: z.enum(['active', 'deprecated']),
  tier: z.number().int(),
  cost_micro_usdc: micro,
  cost_display: display,
  settlement: z.enum(['instant', 'hold']),
  deprecation_note: z.string().optional(),
  arguments_schema: schema.describe('JSON Schema of the arguments of this version'),
  result_schema: schema.nullable().describe('JSON Schema of the result, when the provider gave one'),
});

const toolsAnswer = z.strictObject({
  tools: z.array(
    z.strictObject({
      name: z.string(),
      built_in: z.boolean().describe('a compiled-in ERC-8004 tool, rather than a catalog tool of a provider'),
      tier: z.number().int(),
      tier_name: z.string(),
      cost_micro_usdc: micro,
      cost_display: display,
      description: z.string(),
      tags: z.array(z.string()),
      version: z.string().describe('the version a call that names none gets'),
      status: z.enum(['active', 'deprecated']).describe('that version’s'),
      settlement: z.enum(['instant', 'hold']),
      enabled: z.boolean(),
      disabled_reason: z.string().optional(),
      arguments_schema: schema.describe('JSON Schema of the tool arguments (of `version`)'),
      result_schema: schema.nullable(),
      example: z.strictObject({ tool: z.string(), arguments: schema }).optional(),
      versions: z.array(toolVersion).describe('every version a call may name (retired ones are not offered), newest first'),
    }),
  ),
  nextCursor,
});

const openAiAnswer = z.strictObject({
  tools: z.array(
    z.strictObject({
      type: z.literal('function'),
      function: z.strictObject({ name: z.string(), description: z.string(), parameters: schema }),
    }),
  ),
  omitted: z
    .array(z.strictObject({ name: z.string(), reason: z.string() }))
    .describe('tools of this page left out because OpenAI could not take them (none while tool names follow the manifest’s rule)'),
  nextCursor,
});

export const toolsRoute = restRoute({
  method: 'get',
  path: '/v1/tools',
  summary:
    'Search the tools (full-text over names, descriptions and tags, best match first; by name without q): each with its versions, prices and JSON Schemas',
  access: 'public',
  request: { query: searchQuery(MAX_TOOLS_PAGE, 20) },
  responses: { 200: json(toolsAnswer, 'a page of tools') },
});

export const openAiToolsRoute = restRoute({
  method: 'get',
  path: '/v1/tools/openai',
  summary:
    'OpenAI function-calling definitions of the active tools ({type: "function", function: {name, description, parameters}}), searchable as /v1/tools, at most 128 a page',
  access: 'public',
  request: { query: searchQuery(MAX_OPENAI_PAGE, MAX_OPENAI_PAGE) },
  responses: { 200: json(openAiAnswer, 'a page of function definitions') },
});

type VersionAnswer = z.input<typeof toolVersion>;
type ToolAnswer = z.input<typeof toolsAnswer>['tools'][number];

/** A built-in tool as the search reads it. */
const searchable = (tool: ToolDefinition): SearchableTool => ({
  name: tool.name,
  description: tool.description,
  tags: tool.tags ?? [],
  tier: tool.tier,
  enabled: tool.enabled,
});

function builtInAnswer(tool: ToolDefinition): ToolAnswer {
  const version: VersionAnswer = {
    version: tool.version,
    status: 'active',
    tier: tool.tier,
    cost_micro_usdc: tool.costMicroUsdc.toString(),
    cost_display: displayUsdc(tool.costMicroUsdc),
    settlement: tool.settlement,
    arguments_schema: toolArgumentsSchema(tool),
    result_schema: tool.resultSchema ?? null,
  };
  return {
    name: tool.name,
    built_in: true,
    tier: tool.tier,
    tier_name: TIER_NAME[tool.tier],
    cost_micro_usdc: version.cost_micro_usdc,
    cost_display: version.cost_display,
    description: tool.description,
    tags: [...(tool.tags ?? [])],
    version: tool.version,
    status: 'active',
    settlement: tool.settlement,
    enabled: tool.enabled,
    ...(tool.enabled ? {} : { disabled_reason: tool.disabledReason }),
    arguments_schema: version.arguments_schema,
    result_schema: version.result_schema,
    example: { tool: tool.name, arguments: tool.example },
    versions: [version],
  };
}

const settlementOf = (value: string) => (value === 'hold' ? 'hold' : 'instant');

function catalogAnswer(views: readonly CatalogToolView[], catalogCallable: boolean): ToolAnswer | undefined {
  const chosen = resolveVersion(
    views.map((view) => ({ view, upstreamHeadersSealed: null, signingSecretSealed: '' })),
    undefined,
  );
  if (chosen.kind !== 'found') return undefined;
  const newestActive = chosen.version.view.status === 'active' ? chosen.version.view.version : undefined;
  const versions = views.map((view): VersionAnswer => {
    const note = deprecationNote(view, newestActive);
    return {
      version: view.version,
      status: view.status === 'deprecated' ? 'deprecated' : 'active',
      tier: view.tier,
      cost_micro_usdc: view.priceMicroUsdc,
      cost_display: displayUsdc(BigInt(view.priceMicroUsdc)),
      settlement: settlementOf(view.settlement),
      ...(note ? { deprecation_note: note } : {}),
      arguments_schema: view.argumentsSchema as Record<string, unknown>,
      result_schema: (view.resultSchema as Record<string, unknown> | null) ?? null,
    };
  });
  const view = chosen.version.view;
  const current = versions.find((version) => version.version === view.version);
  if (!current) return undefined;
  return {
    name: view.name,
    built_in: false,
    tier: view.tier,
    tier_name: TIER_NAME[view.tier as ToolTier],
    cost_micro_usdc: current.cost_micro_usdc,
    cost_display: current.cost_display,
    description: view.description,
    tags: view.tags,
    version: view.version,
    status: current.status,
    settlement: current.settlement,
    enabled: catalogCallable,
    ...(catalogCallable ? {} : { disabled_reason: 'this gateway has no SECRETS_KEY to open the tool’s upstream credentials' }),
    arguments_schema: current.arguments_schema,
    result_schema: current.result_schema,
    versions,
  };
}

/** An argument schema as OpenAI's `parameters`: the schema itself, without the `$schema` keyword, which OpenAI does not read. */
function parametersOf(argumentsSchema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _dialect, ...parameters } = argumentsSchema;
  return parameters;
}

/**
 * Discovery (issue 19, docs/adr/0021-tool-discovery.md): GET /v1/tools searches every tool, the
 * built-in ones and the catalog's, with one full-text search in PostgreSQL and lists each with its
 * versions, prices and schemas; GET /v1/tools/openai gives the active ones as OpenAI function
 * definitions. Public, as the agent card and the price list always were: an agent reads what is sold,
 * and at what price, before it has a key.
 */
export function addToolRoutes(api: RestRouter, deps: { db: Database; tools: ToolRegistry; catalogCallable: boolean }) {
  const builtIns = deps.tools.list();
  // made once: a built-in tool's answer (its JSON Schema derived from zod) never changes while the gateway runs
  const builtInByName = new Map(builtIns.map((tool) => [tool.name, builtInAnswer(tool)]));
  const searchables = builtIns.map(searchable);

  const search = async (query: z.output<ReturnType<typeof searchQuery>>, callableOnly: boolean) => {
    const input: ToolQuery = {
      ...(query.q === undefined ? {} : { q: query.q }),
      ...(query.tag === undefined ? {} : { tag: query.tag }),
      ...(query.tier === undefined ? {} : { tier: query.tier }),
      limit: query.limit,
      ...(query.cursor === undefined ? {} : { after: decodeCursor(query.cursor) }),
      callableOnly,
      catalogCallable: deps.catalogCallable,
    };
    const { hits, next } = await searchTools(deps.db, searchables, input);
    const versions = await offeredVersions(
      deps.db,
      hits.filter((hit) => !hit.builtIn).map((hit) => hit.name),
    );
    const answers = hits.flatMap((hit: SearchHit) => {
      const builtIn = hit.builtIn ? builtInByName.get(hit.name) : undefined;
      if (builtIn) return [builtIn];
      // a name whose versions were all retired between the two reads is left out
      const answer = catalogAnswer(versions.get(hit.name) ?? [], deps.catalogCallable);
      return answer ? [answer] : [];
    });
    return { answers, nextCursor: next ? encodeCursor(next) : null };
  };

  api.add(toolsRoute, async (c) => {
    const { answers, nextCursor } = await search(c.req.valid('query'), false);
    return c.json({ tools: answers, nextCursor }, 200);
  });

  api.add(openAiToolsRoute, async (c) => {
    const { answers, nextCursor } = await search(c.req.valid('query'), true);
    const omitted: { name: string; reason: string }[] = [];
    const tools = answers.flatMap((tool) => {
      // Never renamed: a call names the tool as the gateway knows it, so a renamed function could not be called.
      if (!OPENAI_FUNCTION_NAME.test(tool.name)) {
        omitted.push({ name: tool.name, reason: 'the name does not satisfy OpenAI’s ^[a-zA-Z0-9_-]{1,64}$' });
        return [];
      }
      const description = `${tool.description} (${tool.cost_display} per completed call)`;
      return [{ type: 'function' as const, function: { name: tool.name, description, parameters: parametersOf(tool.arguments_schema) } }];
    });
    return c.json({ tools, omitted, nextCursor }, 200);
  });
}
