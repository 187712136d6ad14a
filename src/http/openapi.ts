import { z } from 'zod';
import { GATEWAY_VERSION } from '../a2a/card.js';
import { ledgerQuery, tasksQuery, usageQuery } from './billing-routes.js';
import { lowBalance, newKey, newMember } from './organization-routes.js';
import { verifyBody } from './sign-in-routes.js';
import { submission } from './topup-routes.js';

type Auth = 'none' | 'session' | 'session or API key' | 'API key';

interface Operation {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  summary: string;
  auth: Auth;
  query?: z.ZodObject;
  body?: z.ZodType;
  ok: { status: number; description: string; contentType?: string };
  pathParams?: Record<string, string>;
}

/** The REST routes, with the zod schemas their handlers validate requests with. */
const OPERATIONS: readonly Operation[] = [
  { method: 'get', path: '/v1/tools', summary: 'The price list: every tool, its tier, price and argument JSON Schema', auth: 'none', ok: { status: 200, description: 'the tools' } },
  { method: 'get', path: '/v1/config', summary: 'What a dashboard needs to explain top-ups: chain, USDC contract, treasury, confirmations (null when not configured)', auth: 'none', ok: { status: 200, description: 'the public settings' } },
  { method: 'post', path: '/v1/auth/nonce', summary: 'A single-use EIP-4361 nonce, with the domain and chain a message must name', auth: 'none', ok: { status: 201, description: 'the nonce' } },
  { method: 'post', path: '/v1/auth/verify', summary: 'Trade a signed EIP-4361 message for a session token (the first sign-in creates the organization)', auth: 'none', body: verifyBody, ok: { status: 200, description: 'the session' } },
  { method: 'get', path: '/v1/auth/session', summary: "The session's wallet, organization and role", auth: 'session', ok: { status: 200, description: 'who is signed in' } },
  { method: 'get', path: '/v1/members', summary: "The organization's wallets and roles", auth: 'session', ok: { status: 200, description: 'the members' } },
  { method: 'post', path: '/v1/members', summary: 'Add a wallet with a role (owners)', auth: 'session', body: newMember, ok: { status: 201, description: 'the member' } },
  { method: 'delete', path: '/v1/members/{address}', summary: 'Remove a wallet (owners; never the last owner)', auth: 'session', pathParams: { address: 'the wallet, 0x-hex' }, ok: { status: 204, description: 'removed' } },
  { method: 'get', path: '/v1/keys', summary: "The organization's API keys (prefixes only)", auth: 'session', ok: { status: 200, description: 'the keys' } },
  { method: 'post', path: '/v1/keys', summary: 'Create an API key (admins); the key is in this answer only', auth: 'session', body: newKey, ok: { status: 201, description: 'the new key' } },
  { method: 'delete', path: '/v1/keys/{id}', summary: 'Revoke an API key at once (admins)', auth: 'session', pathParams: { id: 'the key id' }, ok: { status: 204, description: 'revoked' } },
  { method: 'get', path: '/v1/alerts/low-balance', summary: 'The low-balance threshold and webhook', auth: 'session', ok: { status: 200, description: 'the settings' } },
  { method: 'put', path: '/v1/alerts/low-balance', summary: 'Set the low-balance threshold and webhook (admins); the signing secret is in this answer only', auth: 'session', body: lowBalance, ok: { status: 200, description: 'the settings' } },
  { method: 'delete', path: '/v1/alerts/low-balance', summary: 'Remove the low-balance signal (admins)', auth: 'session', ok: { status: 204, description: 'removed' } },
  { method: 'get', path: '/v1/topups', summary: "The organization's recorded USDC top-ups", auth: 'session', ok: { status: 200, description: 'the top-ups' } },
  { method: 'post', path: '/v1/topups', summary: 'Credit a USDC transfer to the treasury (admins); 202 pending until confirmed', auth: 'session', body: submission, ok: { status: 200, description: 'credited' } },
  { method: 'get', path: '/v1/balance', summary: 'Balance, reserved and available credit, and the low-balance state', auth: 'session or API key', ok: { status: 200, description: 'the balance' } },
  { method: 'get', path: '/v1/ledger', summary: 'The ledger, newest first, by keyset cursor', auth: 'session or API key', query: ledgerQuery, ok: { status: 200, description: 'a page of entries' } },
  { method: 'get', path: '/v1/ledger.csv', summary: 'The ledger as CSV (every row of the range)', auth: 'session or API key', query: ledgerQuery, ok: { status: 200, description: 'CSV', contentType: 'text/csv' } },
  { method: 'get', path: '/v1/usage', summary: 'Paid calls aggregated by tool, tier or day', auth: 'session or API key', query: usageQuery, ok: { status: 200, description: 'the usage rows' } },
  { method: 'get', path: '/v1/usage.csv', summary: 'Usage as CSV', auth: 'session or API key', query: usageQuery, ok: { status: 200, description: 'CSV', contentType: 'text/csv' } },
  { method: 'get', path: '/v1/tasks', summary: 'Tasks with filters, newest first, by keyset cursor', auth: 'session or API key', query: tasksQuery, ok: { status: 200, description: 'a page of tasks' } },
  { method: 'get', path: '/v1/tasks/{id}', summary: 'One task of the organization', auth: 'session or API key', pathParams: { id: 'the task id' }, ok: { status: 200, description: 'the task' } },
];

const schemaOf = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

const SECURITY: Record<Auth, unknown[] | undefined> = {
  none: [],
  session: [{ session: [] }],
  'session or API key': [{ session: [] }, { apiKey: [] }],
  'API key': [{ apiKey: [] }],
};

function operationObject(operation: Operation) {
  const parameters = [
    ...Object.entries(operation.pathParams ?? {}).map(([name, description]) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } })),
    ...Object.entries(operation.query?.shape ?? {}).map(([name, field]) => ({
      name,
      in: 'query',
      required: !(field as z.ZodType).safeParse(undefined).success,
      schema: schemaOf(field as z.ZodType),
    })),
  ];
  const errors = Object.fromEntries(
    ['400', '401', '403', '404', '409', '413', '422', '503'].map((status) => [status, { $ref: '#/components/responses/Error' }]),
  );
  return {
    summary: operation.summary,
    security: SECURITY[operation.auth],
    ...(parameters.length ? { parameters } : {}),
    ...(operation.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(operation.body) } } } } : {}),
    responses: {
      [String(operation.ok.status)]: {
        description: operation.ok.description,
        ...(operation.ok.status === 204 ? {} : { content: { [operation.ok.contentType ?? 'application/json']: { schema: operation.ok.contentType ? { type: 'string' } : { type: 'object' } } } }),
      },
      ...errors,
    },
  };
}

/** The OpenAPI 3.1 document of the REST API, built from the request schemas the routes validate with. */
export function openApiDocument(baseUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of OPERATIONS) (paths[operation.path] ??= {})[operation.method] = operationObject(operation);
  return {
    openapi: '3.1.0',
    info: {
      title: 'a2a-paygate REST API',
      version: GATEWAY_VERSION,
      description: 'Wallet sign-in, API keys, top-ups and billing reads. Paid tool calls go over A2A JSON-RPC at /a2a (see the agent card).',
    },
    servers: [{ url: baseUrl }],
    paths,
    components: {
      securitySchemes: {
        session: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'a session token from POST /v1/auth/verify' },
        apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'API key', description: 'an organization API key, apg_…' },
      },
      responses: {
        Error: {
          description: 'the error envelope',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['error'],
                properties: {
                  error: {
                    type: 'object',
                    required: ['code', 'message'],
                    properties: {
                      code: { enum: ['invalid_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'payload_too_large', 'unprocessable', 'unavailable'] },
                      message: { type: 'string' },
                      reason: { type: 'string' },
                      details: {},
                      requestId: { type: 'string' },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  };
}
