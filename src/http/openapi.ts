import { z } from 'zod';
import { GATEWAY_VERSION } from '../a2a/card.js';
import { ledgerQuery, tasksQuery, usageQuery } from './billing-routes.js';
import { lowBalance, newKey, newMember } from './organization-routes.js';
import { verifyBody } from './sign-in-routes.js';
import * as answers from './responses.js';
import { submission, topUpsQuery } from './topup-routes.js';

interface OkAnswer {
  status: number;
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

type Auth = 'none' | 'session' | 'session or API key' | 'API key';

export interface Operation {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  summary: string;
  auth: Auth;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** the success answers: JSON described by `schema`, or a body of `contentType`, or none (204) */
  ok: OkAnswer | OkAnswer[];
  pathParams?: Record<string, string>;
}

/** The REST routes, with the zod schemas their handlers validate requests with. */
export const OPERATIONS: readonly Operation[] = [
  { method: 'get', path: '/v1/tools', summary: 'The price list: every tool, its tier, price and argument JSON Schema', auth: 'none', ok: { status: 200, description: 'the tools', schema: answers.toolsAnswer } },
  { method: 'get', path: '/v1/config', summary: 'What a dashboard needs to explain top-ups: chain, USDC contract, treasury, confirmations (null when not configured)', auth: 'none', ok: { status: 200, description: 'the public settings', schema: answers.configAnswer } },
  { method: 'get', path: '/v1/indexer', summary: 'How fresh the ERC-8004 data is: the block indexed, the chain head and the lag', auth: 'none', ok: { status: 200, description: 'the indexer state', schema: answers.indexerAnswer } },
  { method: 'post', path: '/v1/auth/nonce', summary: 'A single-use EIP-4361 nonce, with the domain and chain a message must name', auth: 'none', ok: { status: 201, description: 'the nonce', schema: answers.nonceAnswer } },
  { method: 'post', path: '/v1/auth/verify', summary: 'Trade a signed EIP-4361 message for a session token (the first sign-in creates the organization)', auth: 'none', body: verifyBody, ok: { status: 200, description: 'the session', schema: answers.sessionAnswer } },
  { method: 'get', path: '/v1/auth/session', summary: "The session's wallet, organization and role", auth: 'session', ok: { status: 200, description: 'who is signed in', schema: answers.whoAmIAnswer } },
  { method: 'get', path: '/v1/members', summary: "The organization's wallets and roles", auth: 'session', ok: { status: 200, description: 'the members', schema: answers.membersAnswer } },
  { method: 'post', path: '/v1/members', summary: 'Add a wallet with a role (owners)', auth: 'session', body: newMember, ok: { status: 201, description: 'the member', schema: answers.memberAnswer } },
  { method: 'delete', path: '/v1/members/{address}', summary: 'Remove a wallet (owners; never the last owner)', auth: 'session', pathParams: { address: 'the wallet, 0x-hex' }, ok: { status: 204, description: 'removed' } },
  { method: 'get', path: '/v1/keys', summary: "The organization's API keys (prefixes only)", auth: 'session', ok: { status: 200, description: 'the keys', schema: answers.keysAnswer } },
  { method: 'post', path: '/v1/keys', summary: 'Create an API key (admins); the key is in this answer only', auth: 'session', body: newKey, ok: { status: 201, description: 'the new key', schema: answers.newKeyAnswer } },
  { method: 'delete', path: '/v1/keys/{id}', summary: 'Revoke an API key at once (admins)', auth: 'session', pathParams: { id: 'the key id' }, ok: { status: 204, description: 'revoked' } },
  { method: 'get', path: '/v1/alerts/low-balance', summary: 'The low-balance threshold and webhook', auth: 'session', ok: { status: 200, description: 'the settings', schema: answers.lowBalanceAnswer } },
  { method: 'put', path: '/v1/alerts/low-balance', summary: 'Set the low-balance threshold and webhook (admins); the signing secret is in this answer only', auth: 'session', body: lowBalance, ok: { status: 200, description: 'the settings', schema: answers.lowBalanceAnswer } },
  { method: 'delete', path: '/v1/alerts/low-balance', summary: 'Remove the low-balance signal (admins)', auth: 'session', ok: { status: 204, description: 'removed' } },
  { method: 'get', path: '/v1/topups', summary: "The organization's recorded USDC top-ups, the last recorded first, by keyset cursor", auth: 'session', query: topUpsQuery, ok: { status: 200, description: 'the top-ups', schema: answers.topUpsAnswer } },
  { method: 'post', path: '/v1/topups', summary: 'Credit a USDC transfer to the treasury (admins); 202 pending until confirmed', auth: 'session', body: submission, ok: [
      { status: 200, description: 'credited', schema: answers.topUpCreditedAnswer },
      { status: 202, description: 'seen, waiting for confirmations', schema: answers.topUpPendingAnswer },
    ] },
  { method: 'get', path: '/v1/balance', summary: 'Balance, reserved and available credit, and the low-balance state', auth: 'session or API key', ok: { status: 200, description: 'the balance', schema: answers.balanceAnswer } },
  { method: 'get', path: '/v1/ledger', summary: 'The ledger, newest first, by keyset cursor', auth: 'session or API key', query: ledgerQuery, ok: { status: 200, description: 'a page of entries', schema: answers.ledgerAnswer } },
  { method: 'get', path: '/v1/ledger.csv', summary: 'The ledger as CSV (every row of the range)', auth: 'session or API key', query: ledgerQuery, ok: { status: 200, description: 'CSV', contentType: 'text/csv' } },
  { method: 'get', path: '/v1/usage', summary: 'Paid calls aggregated by tool, tier or day', auth: 'session or API key', query: usageQuery, ok: { status: 200, description: 'the usage rows', schema: answers.usageAnswer } },
  { method: 'get', path: '/v1/usage.csv', summary: 'Usage as CSV', auth: 'session or API key', query: usageQuery, ok: { status: 200, description: 'CSV', contentType: 'text/csv' } },
  { method: 'get', path: '/v1/tasks', summary: 'Tasks with filters, newest first, by keyset cursor', auth: 'session or API key', query: tasksQuery, ok: { status: 200, description: 'a page of tasks', schema: answers.tasksAnswer } },
  { method: 'get', path: '/v1/tasks/{id}', summary: 'One task of the organization', auth: 'session or API key', pathParams: { id: 'the task id' }, ok: { status: 200, description: 'the task', schema: answers.taskAnswer } },
];

const schemaOf = (schema: z.ZodType, io: 'input' | 'output' = 'input') => z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;

const SECURITY: Record<Auth, unknown[] | undefined> = {
  none: [],
  session: [{ session: [] }],
  'session or API key': [{ session: [] }, { apiKey: [] }],
  'API key': [{ apiKey: [] }],
};

export const okAnswers = (operation: Operation): OkAnswer[] => (Array.isArray(operation.ok) ? operation.ok : [operation.ok]);

function responseObject(answer: OkAnswer) {
  if (answer.schema) return { description: answer.description, content: { 'application/json': { schema: schemaOf(answer.schema, 'output') } } };
  if (answer.contentType) return { description: answer.description, content: { [answer.contentType]: { schema: { type: 'string' } } } };
  return { description: answer.description };
}

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
    ['400', '401', '403', '404', '409', '413', '422', '429', '503'].map((status) => [status, { $ref: '#/components/responses/Error' }]),
  );
  return {
    summary: operation.summary,
    security: SECURITY[operation.auth],
    ...(parameters.length ? { parameters } : {}),
    ...(operation.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(operation.body) } } } } : {}),
    responses: {
      ...Object.fromEntries(okAnswers(operation).map((answer) => [String(answer.status), responseObject(answer)])),
      ...errors,
    },
  };
}

/** Built from the zod schemas once: only the server URL differs between requests. */
const PATHS: Record<string, Record<string, unknown>> = {};
for (const operation of OPERATIONS) (PATHS[operation.path] ??= {})[operation.method] = operationObject(operation);
const ERROR_SCHEMA = schemaOf(answers.errorAnswer, 'output');

/** The OpenAPI 3.1 document of the REST API, built from the request schemas the routes validate with. */
export function openApiDocument(baseUrl: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'a2a-paygate REST API',
      version: GATEWAY_VERSION,
      description: 'Wallet sign-in, API keys, top-ups and billing reads. Paid tool calls go over A2A JSON-RPC at /a2a (see the agent card).',
    },
    servers: [{ url: baseUrl }],
    paths: PATHS,
    components: {
      securitySchemes: {
        session: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'a session token from POST /v1/auth/verify' },
        apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'API key', description: 'an organization API key, apg_…' },
      },
      responses: {
        Error: { description: 'the error envelope', content: { 'application/json': { schema: ERROR_SCHEMA } } },
      },
    },
  };
}
