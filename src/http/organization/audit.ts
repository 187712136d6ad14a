import { z } from 'zod';
import { type AuditEvent, listAuditEvents } from '../../audit/read.js';
import { ACTOR_KINDS, AUDIT_ACTIONS } from '../../audit/record.js';
import type { Database } from '../../db/client.js';
import { int8Cursor } from '../../db/ranges.js';
import { csv, csvHeaders, limit, range } from '../billing/query.js';
import { toCsv } from '../csv.js';
import { instant, nextCursor } from '../responses.js';
import { json, type RestRouter, restRoute } from '../rest-route.js';

const auditQuery = z.strictObject({
  action: z
    .string()
    .transform((value) => value.split(','))
    .pipe(z.array(z.enum(AUDIT_ACTIONS)))
    .optional()
    .describe('only these actions, comma-separated'),
  ...range,
  limit: limit(200, 50),
  cursor: int8Cursor.optional(),
});

const view = z.record(z.string(), z.unknown()).nullable();

const auditAnswer = z.strictObject({
  events: z.array(
    z.strictObject({
      id: z.string(),
      actor: z.strictObject({
        kind: z.enum(ACTOR_KINDS),
        id: z.string().describe('the wallet address (lower-case), the API key id, or "operator"'),
      }),
      action: z.string().describe(`a dotted verb: ${AUDIT_ACTIONS.join(', ')}`),
      target: z.strictObject({ kind: z.string(), id: z.string() }),
      before: view.describe('the object as it was; null when the change created it'),
      after: view.describe('the object as it became; null when the change removed it'),
      requestId: z.string().nullable().describe('the X-Request-Id of the change; null for operator commands'),
      createdAt: instant,
    }),
  ),
  nextCursor,
});

export const auditRoute = restRoute({
  method: 'get',
  path: '/v1/audit',
  summary: "The organization's audit trail: who changed keys, members, alerts and grants (admins), newest first, by keyset cursor",
  access: { session: 'admin' },
  request: { query: auditQuery },
  responses: { 200: json(auditAnswer, 'a page of audit events') },
});

export const auditCsvRoute = restRoute({
  method: 'get',
  path: '/v1/audit.csv',
  summary: 'The audit trail as CSV (every event of the range; admins)',
  access: { session: 'admin' },
  request: { query: auditQuery },
  responses: { 200: csv('CSV') },
});

function auditView(event: AuditEvent) {
  return {
    id: event.id.toString(),
    actor: { kind: event.actorKind, id: event.actor },
    action: event.action,
    target: { kind: event.targetKind, id: event.targetId },
    before: event.before,
    after: event.after,
    requestId: event.requestId,
    createdAt: event.createdAt,
  };
}

const jsonOrEmpty = (view: AuditEvent['before']) => (view === null ? null : JSON.stringify(view));

const AUDIT_CSV = [
  { header: 'id', value: (event: AuditEvent) => event.id },
  { header: 'created_at', value: (event: AuditEvent) => event.createdAt },
  { header: 'actor_kind', value: (event: AuditEvent) => event.actorKind },
  { header: 'actor', value: (event: AuditEvent) => event.actor },
  { header: 'action', value: (event: AuditEvent) => event.action },
  { header: 'target_kind', value: (event: AuditEvent) => event.targetKind },
  { header: 'target_id', value: (event: AuditEvent) => event.targetId },
  { header: 'before', value: (event: AuditEvent) => jsonOrEmpty(event.before) },
  { header: 'after', value: (event: AuditEvent) => jsonOrEmpty(event.after) },
  { header: 'request_id', value: (event: AuditEvent) => event.requestId },
] as const;

/** CSV exports hold every event of the range, in pages of this many read one after another. */
const EXPORT_PAGE = 5_000;

/** The audit trail: owners and admins read it (viewers are refused), only their organization's. */
export function addAuditRoutes(api: RestRouter, deps: { db: Database }) {
  const pageOf = (orgId: string, query: z.output<typeof auditQuery>, beforeId: bigint | undefined, size: number) =>
    listAuditEvents(deps.db, orgId, { actions: query.action, from: query.from, to: query.to, beforeId, limit: size });

  api.add(auditRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await pageOf(c.get('member').orgId, query, query.cursor, query.limit);
    const last = page.at(-1);
    return c.json({ events: page.map(auditView), nextCursor: page.length === query.limit && last ? last.id.toString() : null }, 200);
  });
  api.add(auditCsvRoute, async (c) => {
    const query = c.req.valid('query');
    const events: AuditEvent[] = [];
    for (let beforeId = query.cursor; ; ) {
      const page = await pageOf(c.get('member').orgId, query, beforeId, EXPORT_PAGE);
      events.push(...page);
      if (page.length < EXPORT_PAGE) break;
      beforeId = page.at(-1)?.id;
    }
    return c.body(toCsv(AUDIT_CSV, events), 200, csvHeaders('audit.csv'));
  });
}
