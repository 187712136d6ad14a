import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { z } from 'zod';
import { OPERATOR } from '../../src/audit/record.js';
import { createApiKey, type IssuedKey } from '../../src/auth/api-keys.js';
import { LEDGER_KINDS } from '../../src/billing/ledger.js';
import type { TestGateway } from '../helpers/gateway.js';

/** The tools the registry has enabled, in table order (getReputationReport is disabled). */
export const ENABLED_TOOLS = ['getMyFeedbacks', 'getAgentProfile', 'getReputationSummary', 'getTrend', 'getValidationHistory'] as const;

export const COST = {
  getMyFeedbacks: 1_000n,
  getAgentProfile: 1_000n,
  getReputationSummary: 10_000n,
  getTrend: 10_000n,
  getValidationHistory: 10_000n,
} as const;

export interface RpcErrorBody {
  code: number;
  message: string;
  data?: Record<string, unknown>;
}

export interface RpcAnswer {
  jsonrpc: '2.0';
  id: string | number | null;
  result?: any;
  error?: RpcErrorBody;
}

export interface Reply<Body = RpcAnswer> {
  status: number;
  headers: Headers;
  text: string;
  body: Body;
}

/** Posts through the gateway's app and reads the answer as JSON (undefined for an empty body). */
export async function call<Body = RpcAnswer>(
  gateway: TestGateway,
  body: unknown,
  apiKey?: string,
  headers?: Record<string, string>,
): Promise<Reply<Body>> {
  const response = await gateway.rpc(body, apiKey, headers);
  const text = await response.text();
  const events = response.headers.get('content-type')?.startsWith('text/event-stream');
  return { status: response.status, headers: response.headers, text, body: text === '' || events ? (undefined as Body) : JSON.parse(text) };
}

/** POSTs a JSON-RPC body to a listening gateway's /a2a over a real socket; expects HTTP 200 and reads the answer. */
export async function postOverSocket<Answer = RpcAnswer>(baseUrl: string, apiKey: string, body: unknown): Promise<Answer> {
  const response = await fetch(`${baseUrl}/a2a`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Answer;
}

/** The JSON-RPC responses of a Server-Sent Events answer, one per event. */
export function sseEvents(reply: Reply): RpcAnswer[] {
  expect(reply.headers.get('content-type'), reply.text.slice(0, 600)).toMatch(/^text\/event-stream/);
  return reply.text
    .split('\n\n')
    .filter((chunk) => chunk.startsWith('data:'))
    .map((chunk) => JSON.parse(chunk.slice('data:'.length)) as RpcAnswer);
}

/** Expects a refused streaming call: HTTP 200, a stream of one event holding the error; returns the error. */
export function expectStreamedError(reply: Reply, code: number, id?: RpcAnswer['id']): RpcErrorBody {
  expect(reply.status).toBe(200);
  const events = sseEvents(reply);
  expect(events, reply.text.slice(0, 600)).toHaveLength(1);
  const [event] = events as [RpcAnswer];
  expect(event.error?.code, reply.text.slice(0, 600)).toBe(code);
  expect(event.result).toBeUndefined();
  if (id !== undefined) expect(event.id).toBe(id);
  return event.error as RpcErrorBody;
}

let nextId = 1;

/** One JSON-RPC request object with a fresh numeric id. */
export function request(method: string, params?: unknown): Record<string, unknown> {
  return { jsonrpc: '2.0', id: nextId++, method, ...(params === undefined ? {} : { params }) };
}

/** Expects a JSON-RPC error answered with HTTP 200 and returns its error object. */
export function expectRpcError(reply: Reply, code: number): RpcErrorBody {
  const context = reply.text.slice(0, 600);
  expect(reply.status, context).toBe(200);
  expect(reply.body.jsonrpc).toBe('2.0');
  expect(reply.body.error?.code, context).toBe(code);
  expect(reply.body.result, context).toBeUndefined();
  expect(typeof reply.body.error?.message).toBe('string');
  return reply.body.error as RpcErrorBody;
}

export interface ErrorInfo {
  '@type': 'type.googleapis.com/google.rpc.ErrorInfo';
  reason: string;
  domain: string;
  metadata?: Record<string, string>;
}

/** An A2A 1.0 error's details: `data` is an array whose first entry is a google.rpc.ErrorInfo. */
export function errorDetails(error: RpcErrorBody): { info: ErrorInfo; rest: Array<Record<string, unknown>> } {
  const data = error.data as unknown;
  expect(Array.isArray(data), JSON.stringify(data)).toBe(true);
  const [info, ...rest] = data as Array<Record<string, unknown>>;
  expect(info?.['@type']).toBe('type.googleapis.com/google.rpc.ErrorInfo');
  for (const value of Object.values((info?.metadata ?? {}) as Record<string, unknown>)) expect(typeof value).toBe('string');
  return { info: info as unknown as ErrorInfo, rest };
}

/** Expects a JSON-RPC result answered with HTTP 200 and returns it. */
export function expectResult(reply: Reply): any {
  const context = reply.text.slice(0, 600);
  expect(reply.status, context).toBe(200);
  expect(reply.body.error, context).toBeUndefined();
  expect(reply.body.jsonrpc).toBe('2.0');
  return reply.body.result;
}

export function toolCall(tool: string, args: Record<string, unknown> = {}) {
  return { tool, arguments: args };
}

/** A2A 1.0 SendMessage params: protobuf-JSON names, parts told apart by their content field. */
export function v1Send(
  parts: Array<Record<string, unknown>>,
  extra: { messageId?: string; taskId?: string; contextId?: string; historyLength?: number } = {},
) {
  return {
    message: {
      messageId: extra.messageId ?? randomUUID(),
      role: 'ROLE_USER',
      parts,
      ...(extra.taskId ? { taskId: extra.taskId } : {}),
      ...(extra.contextId ? { contextId: extra.contextId } : {}),
    },
    ...(extra.historyLength === undefined ? {} : { configuration: { historyLength: extra.historyLength } }),
  };
}

/** A2A 0.3 message/send params: `kind` discriminators. */
export function v03Send(
  parts: Array<Record<string, unknown>>,
  extra: { messageId?: string; taskId?: string; contextId?: string; historyLength?: number } = {},
) {
  return {
    message: {
      kind: 'message',
      messageId: extra.messageId ?? randomUUID(),
      role: 'user',
      parts,
      ...(extra.taskId ? { taskId: extra.taskId } : {}),
      ...(extra.contextId ? { contextId: extra.contextId } : {}),
    },
    ...(extra.historyLength === undefined ? {} : { configuration: { historyLength: extra.historyLength } }),
  };
}

export const v1Data = (data: unknown) => ({ data });
export const v1Text = (text: string) => ({ text });
export const v03Data = (data: unknown) => ({ kind: 'data', data });
export const v03Text = (text: string) => ({ kind: 'text', text });

const accountRow = z.object({ balance: z.bigint(), reserved: z.bigint() });
export type AccountRow = z.infer<typeof accountRow>;

export async function account(gateway: TestGateway, orgId: string): Promise<AccountRow | undefined> {
  const [row] = await gateway.database.db.rows(accountRow, sql`select balance, reserved from credit_accounts where org_id = ${orgId}`);
  return row;
}

const ledgerRow = z.object({
  kind: z.enum(LEDGER_KINDS),
  amount: z.bigint(),
  reserved_delta: z.bigint(),
  task_id: z.string().nullable(),
});
export type LedgerRow = z.infer<typeof ledgerRow>;

export async function ledger(gateway: TestGateway, orgId: string): Promise<LedgerRow[]> {
  return gateway.database.db.rows(
    ledgerRow,
    sql`
    select kind::text as kind, amount, reserved_delta, task_id::text as task_id
      from ledger_entries where org_id = ${orgId} order by id`,
  );
}

export async function taskCount(gateway: TestGateway, orgId: string): Promise<number> {
  const [row] = await gateway.database.db.rows(
    z.object({ n: z.bigint() }),
    sql`select count(*)::int8 as n from tasks where org_id = ${orgId}`,
  );
  return Number(row?.n ?? 0n);
}

/** Sum of ledger == balance and reserved for every account (the design's money invariant). */
/** An organization row and a working API key, but no credit account. */
export async function orgWithoutCreditAccount(gateway: TestGateway): Promise<{ orgId: string; apiKey: IssuedKey }> {
  const [org] = await gateway.database.db.rows(
    z.object({ id: z.string() }),
    sql`insert into organizations (name) values ('no account org') returning id`,
  );
  if (!org) throw new Error('organization insert returned no row');
  const apiKey = await createApiKey(gateway.database.db, { orgId: org.id, name: 'no-account key', by: OPERATOR });
  return { orgId: org.id, apiKey };
}
