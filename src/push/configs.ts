import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';

/** The A2A generation whose shapes a webhook gets (the column's check constraint allows these). */
export const pushProtocol = z.enum(['1.0', '0.3']);

export type PushProtocol = z.output<typeof pushProtocol>;

const pushConfig = z.object({
  id: z.string(),
  taskId: z.string(),
  url: z.string(),
  authScheme: z.string().nullable(),
  protocol: pushProtocol,
  attempts: z.number(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
});

/** A config as the caller may read it: its token and credentials are secrets, read only to deliver (dispatcher.ts). */
export type PushConfig = z.output<typeof pushConfig>;

const COLUMNS = sql`id, task_id as "taskId", url, auth_scheme as "authScheme", protocol, attempts, last_error as "lastError", ${isoUtc(sql`created_at`)} as "createdAt"`;

/**
 * Every change of a task is posted to each of its webhooks: without limits one free waiting task
 * with a thousand webhooks turned each free follow-up message into a thousand posts.
 */
export const MAX_PUSH_CONFIGS_PER_TASK = 10;
/** Webhooks an organization may have on its unfinished tasks (finished tasks post no more changes). */
export const MAX_OPEN_PUSH_CONFIGS_PER_ORG = 100;

/** Which limit a new webhook would pass. */
export type PushLimit = 'task' | 'organization';

const OPEN_STATES = sql`('submitted', 'working', 'input-required')`;

const PushCountsRow = z.object({ replaces: z.boolean(), finished: z.boolean(), onTask: z.number(), open: z.number() });

/**
 * The limit a new config on the task would pass, if any (none for a replacement of `id`; no task:
 * a send that is still to open one). setPushConfig reads it under the lock on the organization's
 * row, so concurrent registrations cannot all fit; a send reads it before it runs.
 */
export async function pushLimitReached(
  db: Database,
  input: { orgId: string; taskId: string | undefined; id: string | undefined },
): Promise<PushLimit | undefined> {
  const { taskId, id } = input;
  const [counts] = await db.rows(
    PushCountsRow,
    sql`
    select ${taskId !== undefined && id !== undefined ? sql`exists (select 1 from push_configs where task_id = ${taskId} and id = ${id})` : sql`false`} as replaces,
           ${taskId !== undefined ? sql`exists (select 1 from tasks where id = ${taskId} and state not in ${OPEN_STATES})` : sql`false`} as finished,
           ${taskId !== undefined ? sql`(select count(*)::int from push_configs where task_id = ${taskId})` : sql`0`} as "onTask",
           (select count(*)::int from push_configs c join tasks t on t.id = c.task_id
             where c.org_id = ${input.orgId} and t.state in ${OPEN_STATES}) as open`,
  );
  if (!counts || counts.replaces) return undefined;
  if (counts.onTask >= MAX_PUSH_CONFIGS_PER_TASK) return 'task';
  if (!counts.finished && counts.open >= MAX_OPEN_PUSH_CONFIGS_PER_ORG) return 'organization';
  return undefined;
}

/** A webhook to store for a task: its token and credentials are kept for deliveries only. */
interface NewPushConfig {
  orgId: string;
  taskId: string;
  id: string;
  url: string;
  token: string | null;
  authentication: { scheme: string; credentials: string | null } | null;
  protocol: PushProtocol;
}

/**
 * Registers (or replaces, by id) a webhook for a task of the organization; the caller checked the
 * task is theirs. Answers the limit instead when a new one would pass it.
 */
export async function setPushConfig(db: Database, input: NewPushConfig): Promise<PushConfig | { limit: PushLimit }> {
  return db.transaction(async (tx) => {
    // One registration of an organization at a time: the counts below then include every other.
    // (no key update: it does not wait for, or hold up, inserts that reference the organization)
    await tx.run(sql`select id from organizations where id = ${input.orgId} for no key update`);
    const limit = await pushLimitReached(tx, input);
    if (limit) return { limit };
    return upsertPushConfig(tx, input);
  });
}

async function upsertPushConfig(db: Database, input: NewPushConfig): Promise<PushConfig> {
  const [row] = await db.rows(
    pushConfig,
    sql`
    insert into push_configs (id, task_id, org_id, url, token, auth_scheme, auth_credentials, protocol)
    values (${input.id}, ${input.taskId}, ${input.orgId}, ${input.url}, ${input.token},
            ${input.authentication?.scheme ?? null}, ${input.authentication?.credentials ?? null}, ${input.protocol})
    on conflict (task_id, id) do update
       set url = excluded.url, token = excluded.token, auth_scheme = excluded.auth_scheme,
           auth_credentials = excluded.auth_credentials, protocol = excluded.protocol,
           delivered_version = null, attempts = 0, next_attempt_at = now(), last_error = null
    returning ${COLUMNS}`,
  );
  if (!row) throw new Error('push config upsert returned no row');
  return row;
}

export async function listPushConfigs(db: Database, input: { orgId: string; taskId: string }): Promise<PushConfig[]> {
  return db.rows(
    pushConfig,
    sql`
    select ${COLUMNS} from push_configs where org_id = ${input.orgId} and task_id = ${input.taskId} order by created_at, id`,
  );
}

export async function getPushConfig(db: Database, input: { orgId: string; taskId: string; id: string }): Promise<PushConfig | undefined> {
  const [row] = await db.rows(
    pushConfig,
    sql`
    select ${COLUMNS} from push_configs where org_id = ${input.orgId} and task_id = ${input.taskId} and id = ${input.id}`,
  );
  return row;
}

const DeletedConfigRow = z.object({ id: z.string() });

export async function deletePushConfig(db: Database, input: { orgId: string; taskId: string; id: string }): Promise<boolean> {
  const rows = await db.rows(
    DeletedConfigRow,
    sql`
    delete from push_configs where org_id = ${input.orgId} and task_id = ${input.taskId} and id = ${input.id} returning id`,
  );
  return rows.length > 0;
}
