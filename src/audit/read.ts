import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';
import { ACTOR_KINDS, type AuditAction } from './record.js';

const AuditEventRow = z.object({
  id: z.bigint(),
  actorKind: z.enum(ACTOR_KINDS),
  actor: z.string(),
  /** text, not the enum of today's actions: a row written by a newer version still reads */
  action: z.string(),
  targetKind: z.string(),
  targetId: z.string(),
  before: z.record(z.string(), z.unknown()).nullable(),
  after: z.record(z.string(), z.unknown()).nullable(),
  requestId: z.string().nullable(),
  createdAt: z.string(),
});
export type AuditEvent = z.output<typeof AuditEventRow>;

export interface AuditQuery {
  actions?: readonly AuditAction[];
  from?: Date;
  to?: Date;
  /** events older than this id (the cursor of the page before) */
  beforeId?: bigint;
  limit: number;
}

function auditWhere(orgId: string, query: AuditQuery): SQL {
  const conditions = [sql`org_id = ${orgId}`];
  if (query.actions?.length)
    conditions.push(
      sql`action in (${sql.join(
        query.actions.map((action) => sql`${action}`),
        sql`, `,
      )})`,
    );
  if (query.from) conditions.push(sql`created_at >= ${query.from.toISOString()}::timestamptz`);
  if (query.to) conditions.push(sql`created_at < ${query.to.toISOString()}::timestamptz`);
  if (query.beforeId !== undefined) conditions.push(sql`id < ${query.beforeId}`);
  return sql.join(conditions, sql` and `);
}

/** One page of the organization's audit trail, newest first. */
export async function listAuditEvents(db: Database, orgId: string, query: AuditQuery): Promise<AuditEvent[]> {
  return db.replica.rows(
    AuditEventRow,
    sql`
    select id, actor_kind::text as "actorKind", actor, action, target_kind as "targetKind", target_id as "targetId",
           before, after, request_id as "requestId", ${isoUtc(sql`created_at`)} as "createdAt"
      from audit_events
     where ${auditWhere(orgId, query)}
     order by id desc
     limit ${query.limit}`,
  );
}
