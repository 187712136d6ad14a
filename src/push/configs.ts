import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';

export type PushProtocol = '1.0' | '0.3';

/** A config as the caller may read it: its token and credentials are secrets, read only to deliver (dispatcher.ts). */
export interface PushConfig {
  id: string;
  taskId: string;
  url: string;
  authScheme: string | null;
  protocol: PushProtocol;
  attempts: number;
  lastError: string | null;
  createdAt: string;
}

const COLUMNS = sql`id, task_id as "taskId", url, auth_scheme as "authScheme", protocol, attempts, last_error as "lastError", ${isoUtc(sql`created_at`)} as "createdAt"`;

/** Registers (or replaces, by id) a webhook for a task of the organization; the caller checked the task is theirs. */
export async function setPushConfig(
  db: Database,
  input: {
    orgId: string;
    taskId: string;
    id: string;
    url: string;
    token: string | null;
    authentication: { scheme: string; credentials: string | null } | null;
    protocol: PushProtocol;
  },
): Promise<PushConfig> {
  const [row] = await db.rows<PushConfig>(sql`
    insert into push_configs (id, task_id, org_id, url, token, auth_scheme, auth_credentials, protocol)
    values (${input.id}, ${input.taskId}, ${input.orgId}, ${input.url}, ${input.token},
            ${input.authentication?.scheme ?? null}, ${input.authentication?.credentials ?? null}, ${input.protocol})
    on conflict (task_id, id) do update
       set url = excluded.url, token = excluded.token, auth_scheme = excluded.auth_scheme,
           auth_credentials = excluded.auth_credentials, protocol = excluded.protocol,
           delivered_version = null, attempts = 0, next_attempt_at = now(), last_error = null
    returning ${COLUMNS}`);
  if (!row) throw new Error('push config upsert returned no row');
  return row;
}

export async function listPushConfigs(db: Database, input: { orgId: string; taskId: string }): Promise<PushConfig[]> {
  return db.rows<PushConfig>(sql`
    select ${COLUMNS} from push_configs where org_id = ${input.orgId} and task_id = ${input.taskId} order by created_at, id`);
}

export async function getPushConfig(db: Database, input: { orgId: string; taskId: string; id: string }): Promise<PushConfig | undefined> {
  const [row] = await db.rows<PushConfig>(sql`
    select ${COLUMNS} from push_configs where org_id = ${input.orgId} and task_id = ${input.taskId} and id = ${input.id}`);
  return row;
}

export async function deletePushConfig(db: Database, input: { orgId: string; taskId: string; id: string }): Promise<boolean> {
  const rows = await db.rows(sql`
    delete from push_configs where org_id = ${input.orgId} and task_id = ${input.taskId} and id = ${input.id} returning id`);
  return rows.length > 0;
}
