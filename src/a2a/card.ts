import { displayUsdc } from '../tools/money.js';
import { TIER_NAME, type ToolRegistry } from '../tools/registry.js';
import type { ToolDefinition } from '../tools/types.js';
import { X402_EXTENSION_URI } from './x402-extension.js';

export const GATEWAY_VERSION = '0.1.0';

const BEARER_DESCRIPTION = 'An organization API key: Authorization: Bearer apg_...';

/**
 * How the card stays small with a catalog of thousands (issue 19: under 1 MB at 10,000 tools;
 * docs/adr/0021-tool-discovery.md). Every active built-in tool is a skill as it always was. A
 * catalog tool's skill is trimmed: its description cut to CARD_DESCRIPTION_CHARS at a word, at
 * most CARD_TAGS of its own tags, no schemas, examples or modes (the card's defaults hold). At
 * most CARD_CATALOG_SKILLS catalog tools are listed, by name, and never more than
 * CARD_SKILLS_BUDGET bytes of them, so the card stays under 1 MB whatever the providers wrote; the
 * card says how many it lists and points to GET /v1/tools for the rest.
 */
export const CARD_CATALOG_SKILLS = 1_000;
export const CARD_DESCRIPTION_CHARS = 200;
export const CARD_TAGS = 3;
export const CARD_SKILLS_BUDGET = 768 * 1024;

/** Active: callable now, and the version a call without one gets is not deprecated. */
const isActive = (tool: ToolDefinition) => tool.enabled && tool.deprecationNote === undefined;

const priceSentence = (tool: ToolDefinition) =>
  `Tier ${tool.tier} (${TIER_NAME[tool.tier]}), ${displayUsdc(tool.costMicroUsdc)} (${tool.costMicroUsdc} micro-USDC) per completed call.`;
const priceTags = (tool: ToolDefinition) => [`tier-${tool.tier}`, `price-${tool.costMicroUsdc}-micro-usdc`];

/** `text` cut to at most `max` characters, at a word when there is one, marked with an ellipsis. */
function shortened(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

function builtInSkill(tool: ToolDefinition) {
  return {
    id: tool.name,
    name: tool.name,
    description: `${tool.description} ${priceSentence(tool)}`,
    tags: [...(tool.tags ?? []), ...priceTags(tool)],
    examples: [JSON.stringify({ tool: tool.name, arguments: tool.example })],
    inputModes: ['application/json'],
    outputModes: ['application/json'],
  };
}

function catalogSkill(tool: ToolDefinition) {
  return {
    id: tool.name,
    name: tool.name,
    description: `${shortened(tool.description, CARD_DESCRIPTION_CHARS)} ${priceSentence(tool)}`,
    tags: [...(tool.tags ?? []).slice(0, CARD_TAGS), ...priceTags(tool)],
  };
}

type Skill = ReturnType<typeof builtInSkill> | ReturnType<typeof catalogSkill>;

/** The skills of the tools a registry offers, made once per catalog read (the registry answers the same array until it changes). */
const skillsOf = new WeakMap<readonly ToolDefinition[], { skills: Skill[]; active: number }>();

function cardSkills(tools: ToolRegistry): { skills: Skill[]; active: number } {
  const offered = tools.offered();
  let made = skillsOf.get(offered);
  if (made) return made;
  const skills: Skill[] = [];
  let active = 0;
  let catalogSkills = 0;
  let catalogBytes = 0;
  for (const tool of offered) {
    if (!isActive(tool)) continue;
    active += 1;
    if (tools.isBuiltIn(tool.name)) {
      skills.push(builtInSkill(tool));
      continue;
    }
    if (catalogSkills >= CARD_CATALOG_SKILLS) continue;
    const skill = catalogSkill(tool);
    const bytes = Buffer.byteLength(JSON.stringify(skill)) + 1;
    if (catalogBytes + bytes > CARD_SKILLS_BUDGET) {
      catalogSkills = CARD_CATALOG_SKILLS;
      continue;
    }
    catalogBytes += bytes;
    catalogSkills += 1;
    skills.push(skill);
  }
  made = { skills, active };
  skillsOf.set(offered, made);
  return made;
}

/** What the card says beyond the tools: the extensions the gateway offers. */
export interface CardOptions {
  /** x402 per-call payments are taken: the a2a-x402 extension is declared */
  x402?: boolean;
}

/**
 * The a2a-x402 extension v0.2 (a2a/x402-flow.ts). Not required: a caller with an API key pays from
 * its credits and need not activate it; one without a key activates it to pay per call.
 */
const X402_EXTENSION = {
  uri: X402_EXTENSION_URI,
  description:
    'Pay per call with x402 (exact USDC, EIP-3009) instead of an API key: send a tool call without Authorization, activating this ' +
    'extension (A2A-Extensions or X-A2A-Extensions), and pay the input-required task it answers.',
  required: false,
};

/**
 * One card for both generations: A2A 1.0 clients read `supportedInterfaces` (and
 * `securityRequirements`), 0.3 clients read `url`, `preferredTransport` and `security`. The
 * security scheme carries the 0.3 `type` form and the 1.0 one-of form side by side.
 */
export function buildAgentCard(baseUrl: string, tools: ToolRegistry, options: CardOptions = {}): Record<string, unknown> {
  const endpoint = `${baseUrl}/a2a`;
  const { skills, active } = cardSkills(tools);
  const listed =
    skills.length < active
      ? ` This card lists ${skills.length} of the ${active} active tools (the built-in ones, then the catalog's by name);`
      : ' ';
  return {
    name: 'a2a-paygate',
    description:
      'Pay-per-query tools over A2A: ERC-8004 agent-reputation data and a catalog of providers’ tools. Each message carries one tool call ' +
      '{"tool": "<name>", "version"?: "<semver range>", "arguments": {...}} in a data part; only completed calls are charged, in micro-USDC.' +
      `${listed} GET ${baseUrl}/v1/tools?q=<words> searches every tool with its versions, prices and argument schemas, and GET ${baseUrl}/v1/tools/openai gives them as OpenAI function definitions.`,
    version: GATEWAY_VERSION,
    supportedInterfaces: [
      { url: endpoint, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
      { url: endpoint, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
    ],
    url: endpoint,
    preferredTransport: 'JSONRPC',
    protocolVersion: '0.3.0',
    provider: { organization: 'a2a-paygate', url: baseUrl },
    documentationUrl: `${baseUrl}/v1/tools`,
    capabilities: {
      streaming: true,
      pushNotifications: true,
      stateTransitionHistory: false,
      ...(options.x402 ? { extensions: [X402_EXTENSION] } : {}),
    },
    securitySchemes: {
      apiKey: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'API key',
        description: BEARER_DESCRIPTION,
        httpAuthSecurityScheme: { scheme: 'Bearer', bearerFormat: 'API key', description: BEARER_DESCRIPTION },
      },
    },
    security: [{ apiKey: [] }],
    securityRequirements: [{ schemes: { apiKey: { list: [] } } }],
    defaultInputModes: ['application/json', 'text/plain'],
    defaultOutputModes: ['application/json'],
    supportsAuthenticatedExtendedCard: false,
    skills,
  };
}

/** The card's text last written for each tool table, with the catalog read and base URL it was written for. */
const writtenCards = new WeakMap<ToolRegistry, { offered: readonly unknown[]; baseUrl: string; x402: boolean; text: string }>();

/** The card as JSON text, written once per catalog read, base URL and options: at 10,000 tools it is some 400 KB. */
export function agentCardText(baseUrl: string, tools: ToolRegistry, options: CardOptions = {}): string {
  const offered = tools.offered();
  const x402 = options.x402 === true;
  const written = writtenCards.get(tools);
  if (written?.offered === offered && written.baseUrl === baseUrl && written.x402 === x402) return written.text;
  const text = JSON.stringify(buildAgentCard(baseUrl, tools, options));
  writtenCards.set(tools, { offered, baseUrl, x402, text });
  return text;
}
