import { displayUsdc } from '../tools/money.js';
import { TIER_NAME, type ToolRegistry } from '../tools/registry.js';

export const GATEWAY_VERSION = '0.1.0';

const BEARER_DESCRIPTION = 'An organization API key: Authorization: Bearer apg_...';

/**
 * One card for both generations: A2A 1.0 clients read `supportedInterfaces` (and
 * `securityRequirements`), 0.3 clients read `url`, `preferredTransport` and `security`. The
 * security scheme carries the 0.3 `type` form and the 1.0 one-of form side by side.
 */
export function buildAgentCard(baseUrl: string, tools: ToolRegistry): Record<string, unknown> {
  const endpoint = `${baseUrl}/a2a`;
  return {
    name: 'a2a-paygate',
    description:
      'Pay-per-query ERC-8004 agent-reputation data over A2A. Each message carries one tool call ' +
      '{"tool": "<name>", "arguments": {...}} in a data part; only completed calls are charged, in micro-USDC.',
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
    capabilities: { streaming: true, pushNotifications: true, stateTransitionHistory: false },
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
    skills: tools.listEnabled().map((tool) => ({
      id: tool.name,
      name: tool.name,
      description: `${tool.description} Tier ${tool.tier} (${TIER_NAME[tool.tier]}), ${displayUsdc(tool.costMicroUsdc)} (${tool.costMicroUsdc} micro-USDC) per completed call.`,
      tags: ['erc-8004', 'reputation', `tier-${tool.tier}`, `price-${tool.costMicroUsdc}-micro-usdc`],
      examples: [JSON.stringify({ tool: tool.name, arguments: tool.example })],
      inputModes: ['application/json'],
      outputModes: ['application/json'],
    })),
  };
}
