import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { GATEWAY_VERSION } from '../a2a/card.js';
import type { AppEnv } from './env.js';
import { errorAnswer } from './responses.js';

const INFO = {
  title: 'a2a-paygate REST API',
  version: GATEWAY_VERSION,
  description:
    'Wallet sign-in, API keys, top-ups, billing reads and paid tool calls (POST /v1/tools/{name}/call). The same paid calls go over A2A JSON-RPC at /a2a and MCP at /mcp: /reference documents both, the agent card names the A2A endpoint.',
};

const COMPONENTS = {
  securitySchemes: {
    session: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'a session token from POST /v1/auth/verify' },
    apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'API key', description: 'an organization API key, apg_…' },
  },
  responses: {
    // Inline, not a $ref to a schema: the reference page prints it as the intro's error envelope.
    Error: {
      description: 'the error envelope',
      content: { 'application/json': { schema: z.toJSONSchema(errorAnswer, { io: 'output' }) } },
    },
  },
};

/**
 * The OpenAPI 3.1 document of the REST API, generated from the route definitions `app` has mounted
 * (their schemas are the ones requests are validated with and answers typed by). It is built at the
 * first request, once every router is mounted; only the server URL differs between requests.
 */
export function openApiDocument(app: OpenAPIHono<AppEnv>): (baseUrl: string) => Record<string, unknown> {
  let generated: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  return (baseUrl) => {
    generated ??= app.getOpenAPI31Document({ openapi: '3.1.0', info: INFO });
    return { ...generated, servers: [{ url: baseUrl }], components: { ...generated.components, ...COMPONENTS } };
  };
}
