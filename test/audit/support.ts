import { sql } from 'drizzle-orm';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { expect } from 'vitest';
import { z } from 'zod';
import { expectDocumentedAnswer } from '../helpers/documented-answer.js';
import type { TestGateway } from '../helpers/gateway.js';

export const newWallet = () => privateKeyToAccount(generatePrivateKey());

/** An event as GET /v1/audit answers it. */
export interface AuditEventAnswer {
  id: string;
  actor: { kind: 'wallet' | 'key' | 'operator'; id: string };
  action: string;
  target: { kind: string; id: string };
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  requestId: string | null;
  createdAt: string;
}

/**
 * A request to the gateway over a real socket (it must be listening), JSON body and bearer token if
 * given, its answer checked against what /openapi.json documents for the route.
 */
export async function overHttp(gateway: TestGateway, method: string, path: string, body?: unknown, token?: string): Promise<Response> {
  const response = await fetch(`${gateway.baseUrl}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await expectDocumentedAnswer(gateway.app, method, path, response);
  return response;
}

/** One page of the organization's audit trail as the session `token` reads it. */
export async function auditPage(
  gateway: TestGateway,
  token: string,
  query = '',
): Promise<{ events: AuditEventAnswer[]; nextCursor: string | null }> {
  const response = await overHttp(gateway, 'GET', `/v1/audit${query ? `?${query}` : ''}`, undefined, token);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as { events: AuditEventAnswer[]; nextCursor: string | null };
}

/** The newest audit event of the session's organization. */
export async function latestEvent(gateway: TestGateway, token: string): Promise<AuditEventAnswer | undefined> {
  return (await auditPage(gateway, token, 'limit=1')).events[0];
}

/** How many audit rows the database holds, over every organization. */
export async function auditRowCount(gateway: TestGateway): Promise<number> {
  const [row] = await gateway.database.db.rows(z.object({ n: z.number() }), sql`select count(*)::int as n from audit_events`);
  return row?.n ?? -1;
}

/** Every audit row of the database as text, every column: what a secret must never appear in. */
export async function allAuditText(gateway: TestGateway): Promise<string> {
  const rows = await gateway.database.db.rows(z.object({ row: z.string() }), sql`select a::text as row from audit_events a`);
  return rows.map((row) => row.row).join('\n');
}

export const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
