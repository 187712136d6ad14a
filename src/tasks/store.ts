import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';
import { stringifyJson } from '../domain/json-text.js';
import { type Message, MessageSchema, type TaskState, TaskStateSchema } from '../domain/task-model.js';
import type { ToolAnswer } from '../tools/types.js';

/** Why a task failed, kept on the row and told to the caller. */
export const TaskFailureSchema = z.object({
  reason: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type TaskFailure = z.output<typeof TaskFailureSchema>;

/** A task as every task statement returns it (TASK_COLUMNS). */
export const TaskRowSchema = z.object({
  id: z.string(),
  org_id: z.string(),
  context_id: z.string(),
  message_id: z.string(),
  call_message_id: z.string().nullable(),
  tool: z.string().nullable(),
  /** the key that made the call (null for tasks from before keys were recorded) */
  api_key_id: z.string().nullable(),
  arguments: z.unknown(),
  cost: z.bigint(),
  state: TaskStateSchema,
  result: z.record(z.string(), z.unknown()).nullable(),
  error: TaskFailureSchema.nullable(),
  history: z.array(MessageSchema),
  duration_ms: z.number().nullable(),
  tool_version: z.string().nullable(),
  deprecation_note: z.string().nullable(),
  provider_org_id: z.string().nullable(),
  provider_earning: z.bigint().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
/** A task; a completed instant call's own answer keeps its result as the tool gave it (maybe JSON text). */
export type TaskRow = Omit<z.output<typeof TaskRowSchema>, 'result'> & { result: ToolAnswer | null };

const iso = (column: string) => sql`${isoUtc(sql.raw(column), 'US')} as ${sql.raw(column)}`;

/** The columns every task statement returns, timestamps as ISO-8601 UTC text. */
export const TASK_COLUMNS = sql.join(
  [
    'id',
    'org_id',
    'context_id',
    'message_id',
    'call_message_id',
    'tool',
    'api_key_id',
    'arguments',
    'cost',
    'state',
    'result',
    'error',
    'history',
    'duration_ms',
    'tool_version',
    'deprecation_note',
    'provider_org_id',
    'provider_earning',
    iso('created_at'),
    iso('updated_at'),
  ].map((column) => (typeof column === 'string' ? sql.raw(column) : column)),
  sql`, `,
);

const json = (value: unknown) => sql`${stringifyJson(value)}::jsonb`;
const deadline = (ms: number) => sql`now() + ${ms} * interval '1 millisecond'`;

/** What a task keeps of the tool version its call was accepted for (tool-call.ts, `pricedCall`). */
export interface CalledVersion {
  tool: string;
  toolVersion: string;
  /** set when the version was deprecated at the call */
  deprecationNote: string | null;
  cost: bigint;
  /** the tool's provider and what it earns when the call is charged; both null for the gateway's own tools */
  providerOrgId: string | null;
  providerEarning: bigint | null;
}

export interface NewCall extends CalledVersion {
  id: string;
  /** the API key making the call */
  keyId: string;
  contextId: string;
  messageId: string;
  arguments: unknown;
  history: Message[];
  deadlineMs: number;
}

const CALLED_VERSION_COLUMNS = sql.raw('tool_version, deprecation_note, provider_org_id, provider_earning');
const calledVersionValues = (call: CalledVersion) =>
  sql`${call.toolVersion}, ${call.deprecationNote}, ${call.providerOrgId}::uuid, ${call.providerEarning}::int8`;

/** Who runs a new held task, until when (see leases.ts). */
export interface TaskLease {
  owner: string;
  until: SQL;
}

/** A new task already working on its tool call, written by the hold that pays for it (billing/holds.ts). */
export function insertWorkingTaskFromHold(call: NewCall, lease: TaskLease): (hold: SQL) => SQL {
  return (hold) => sql`
    insert into tasks (id, org_id, context_id, message_id, call_message_id, tool, api_key_id, arguments, cost, state, history,
                       deadline_at, lease_owner, lease_until, attempts, ${CALLED_VERSION_COLUMNS})
    select ${call.id}, ${hold}.org_id, ${call.contextId}, ${call.messageId}, ${call.messageId}, ${call.tool}, ${call.keyId},
           ${json(call.arguments)}, ${call.cost}, 'working', ${json(call.history)}, ${deadline(call.deadlineMs)},
           ${lease.owner}, ${lease.until}, 1, ${calledVersionValues(call)}
      from ${hold}
 returning ${TASK_COLUMNS}`;
}

/** What an instant call's insert returns; the rest of its row is what the gateway just wrote. */
export const WrittenTaskSchema = z.object({ id: z.string(), org_id: z.string(), created_at: z.string(), updated_at: z.string() });
export type WrittenTask = z.output<typeof WrittenTaskSchema>;

const WRITTEN_COLUMNS = sql`id, org_id, ${iso('created_at')}, ${iso('updated_at')}`;

/** An instant call with its answer, to be paid for and recorded completed. */
export interface AnsweredCall extends Omit<NewCall, 'deadlineMs'> {
  orgId: string;
  result: ToolAnswer;
  durationMs: number;
}

/**
 * The calls as the json text `answeredCallRows` reads: ONE parameter whatever their number, so the
 * charge statement's text is the same for any group size and PostgreSQL parses and plans it once
 * per connection, not once per size.
 */
export function answeredCallsJson(calls: readonly AnsweredCall[]): string {
  const rows = calls.map((call) => ({
    org_id: call.orgId,
    key_id: call.keyId,
    id: call.id,
    context_id: call.contextId,
    message_id: call.messageId,
    tool: call.tool,
    arguments: call.arguments,
    cost: call.cost.toString(),
    result: call.result,
    history: call.history,
    duration_ms: call.durationMs,
    tool_version: call.toolVersion,
    deprecation_note: call.deprecationNote,
    provider_org_id: call.providerOrgId,
    provider_earning: call.providerEarning?.toString() ?? null,
  }));
  return stringifyJson(rows);
}

/**
 * The calls of `callsJson` (answeredCallsJson's text, or the slot a statement template binds it to)
 * as rows `(org_id, key_id, id, context_id, message_id, tool, arguments, cost, result, history,
 * duration_ms, tool_version, deprecation_note, provider_org_id, provider_earning, n)`. `json`, not `jsonb`, keeps each result's text as the tool wrote it.
 */
export function answeredCallRows(callsJson: unknown): SQL {
  return sql`select * from rows from (json_to_recordset(${callsJson}::json) as (
      org_id uuid, key_id uuid, id uuid, context_id text, message_id text, tool text, arguments jsonb, cost int8, result json,
      history jsonb, duration_ms int, tool_version text, deprecation_note text, provider_org_id uuid, provider_earning int8)) with ordinality
    as answered (org_id, key_id, id, context_id, message_id, tool, arguments, cost, result, history, duration_ms, tool_version,
                 deprecation_note, provider_org_id, provider_earning, n)`;
}

/** The paid calls' tasks, inserted completed by the charge that pays for them (billing/charges.ts). */
export const insertCompletedTasksFromPaid = (paid: SQL): SQL => sql`
    insert into tasks (id, org_id, context_id, message_id, call_message_id, tool, api_key_id, arguments, cost, state, result, history,
                       duration_ms, ${CALLED_VERSION_COLUMNS})
    select id, org_id, context_id, message_id, message_id, tool, key_id, arguments, cost, 'completed', result, history, duration_ms,
           ${CALLED_VERSION_COLUMNS}
      from ${paid}
 returning id, org_id, cost, provider_org_id, provider_earning, ${iso('created_at')}, ${iso('updated_at')}`;

/**
 * A call paid with an x402 authorization, recorded completed by the statement that books its
 * settled payment (billing/x402-payments.ts): no key made it; the payer's organization, from the
 * settled claim, owns it.
 */
export function insertCompletedX402Task(call: Omit<AnsweredCall, 'keyId' | 'orgId'>): (settled: SQL) => SQL {
  return (settled) => sql`
    insert into tasks (id, org_id, context_id, message_id, call_message_id, tool, api_key_id, arguments, cost, state, result, history,
                       duration_ms, ${CALLED_VERSION_COLUMNS})
    select ${call.id}, ${settled}.org_id, ${call.contextId}, ${call.messageId}, ${call.messageId}, ${call.tool}, null,
           ${json(call.arguments)}, ${call.cost}, 'completed', ${stringifyJson(call.result)}::json, ${json(call.history)}, ${call.durationMs},
           ${calledVersionValues(call)}
      from ${settled}
 returning ${TASK_COLUMNS}`;
}

/** An instant call that did not answer, recorded failed; no money moved, so no ledger row. */
export async function insertFailedTask(
  db: Database,
  call: Omit<NewCall, 'deadlineMs' | 'keyId'> & { orgId: string; keyId: string | null },
  outcome: { failure: TaskFailure; durationMs: number },
): Promise<WrittenTask | undefined> {
  const [row] = await db.rows(
    WrittenTaskSchema,
    sql`
    insert into tasks (id, org_id, context_id, message_id, call_message_id, tool, api_key_id, arguments, cost, state, error, history,
                       duration_ms, ${CALLED_VERSION_COLUMNS})
    values (${call.id}, ${call.orgId}, ${call.contextId}, ${call.messageId}, ${call.messageId}, ${call.tool}, ${call.keyId},
            ${json(call.arguments)}, ${call.cost}, 'failed', ${json(outcome.failure)}, ${json(call.history)}, ${outcome.durationMs},
            ${calledVersionValues(call)})
    on conflict do nothing
 returning ${WRITTEN_COLUMNS}`,
  );
  return row;
}

/** A task waiting for input takes its tool call, written by the hold that pays for it. */
export function startCallOnWaitingTaskFromHold(
  taskId: string,
  call: Omit<NewCall, 'id' | 'contextId' | 'history'> & { appended: Message[] },
  lease: TaskLease,
): (hold: SQL) => SQL {
  return (hold) => sql`
    update tasks
       set state = 'working', call_message_id = ${call.messageId}, tool = ${call.tool}, api_key_id = ${call.keyId},
           arguments = ${json(call.arguments)}, cost = ${call.cost}, history = history || ${json(call.appended)},
           (${CALLED_VERSION_COLUMNS}) = (select ${calledVersionValues(call)}),
           deadline_at = ${deadline(call.deadlineMs)}, lease_owner = ${lease.owner}, lease_until = ${lease.until},
           attempts = attempts + 1, updated_at = now()
      from (select org_id as held_org_id from ${hold}) as held
     where tasks.id = ${taskId} and tasks.org_id = held.held_org_id and tasks.state = 'input-required'
 returning ${TASK_COLUMNS}`;
}

/**
 * The task a messageId of an organization was used by, if any: the task it opened, or the task it
 * made a tool call on (a follow-up); two index lookups (docs/adr/0018-prepared-charge.md).
 * - PostgreSQL: the function `task_using_message_id` (migrations/0015). The gateway's statements are
 *   prepared with cached generic plans; the function's lookups are planned apart, with the size
 *   `tasks` has when the statement runs, not the size it had when the plan was cached.
 * - PGlite: the same lookups inline. Every statement sent to PGlite is planned anew (nothing is
 *   prepared), so there is no cached plan to outlive; and PGlite is PostgreSQL 18, which caches a
 *   SQL function's plans per session, so the function there plans at every call (its
 *   force_custom_plan), 120 to 220 µs a lookup.
 */
function taskUsingMessageId(kind: Database['kind'], orgId: SQL, messageId: SQL): SQL {
  if (kind === 'postgres') return sql`task_using_message_id(${orgId}, ${messageId})`;
  return sql`coalesce(
    (select t.id from tasks t where t.org_id = ${orgId} and t.message_id = ${messageId} limit 1),
    (select t.id from tasks t where t.org_id = ${orgId} and t.call_message_id = ${messageId} limit 1))`;
}

/**
 * Whether a messageId is still unused, for a statement run on a database of `kind`: a retry is
 * answered with its first task, never charged again. A held call checks it before the account
 * lock: its insert would otherwise wait on that task's index entry while the task's capture waits
 * on the account (a deadlock).
 */
export function messageIdUnused(kind: Database['kind'], orgId: string, messageId: string): SQL {
  return sql`${taskUsingMessageId(kind, sql`${orgId}::uuid`, sql`${messageId}`)} is null`;
}

/** `messageIdUnused` for a row `call` with columns `org_id` and `message_id` (a charge's calls). */
export const callMessageIdUnused =
  (kind: Database['kind']) =>
  (call: SQL): SQL =>
    sql`${taskUsingMessageId(kind, sql`${call}.org_id`, sql`${call}.message_id`)} is null`;

/** The condition a follow-up's hold needs: its task still waits for input (locked while we look). */
export function waitingTaskGuard(orgId: string, taskId: string): SQL {
  return sql`exists (select 1 from tasks where id = ${taskId} and org_id = ${orgId} and state = 'input-required' for update)`;
}

/** Only the lease holder settles: a run that lost its lease (taken over, cancelled) changes nothing. */
export function completeWorkingTask(taskId: string, leaseOwner: string, result: unknown, durationMs: number): SQL {
  return sql`
    update tasks
       set state = 'completed', result = ${JSON.stringify(result)}::json, duration_ms = ${durationMs}, deadline_at = null,
           lease_until = null, updated_at = now()
     where id = ${taskId} and state = 'working' and lease_owner = ${leaseOwner}
 returning ${TASK_COLUMNS}`;
}

export function failWorkingTask(taskId: string, leaseOwner: string, failure: TaskFailure, durationMs: number): SQL {
  return sql`
    update tasks
       set state = 'failed', error = ${json(failure)}, duration_ms = ${durationMs}, deadline_at = null,
           lease_until = null, updated_at = now()
     where id = ${taskId} and state = 'working' and lease_owner = ${leaseOwner}
 returning ${TASK_COLUMNS}`;
}

export function cancelOpenTask(orgId: string, taskId: string): SQL {
  return sql`
    update tasks
       set state = 'canceled', deadline_at = null, updated_at = now()
     where id = ${taskId} and org_id = ${orgId} and state in ('submitted', 'working', 'input-required')
 returning ${TASK_COLUMNS}`;
}

export async function insertWaitingTask(
  db: Database,
  task: { id: string; orgId: string; keyId: string; contextId: string; messageId: string; history: Message[] },
): Promise<TaskRow | undefined> {
  const [row] = await db.rows(
    TaskRowSchema,
    sql`
    insert into tasks (id, org_id, api_key_id, context_id, message_id, state, history)
    values (${task.id}, ${task.orgId}, ${task.keyId}, ${task.contextId}, ${task.messageId}, 'input-required', ${json(task.history)})
    on conflict (org_id, message_id) do nothing
 returning ${TASK_COLUMNS}`,
  );
  return row;
}

export async function appendToWaitingTask(db: Database, orgId: string, taskId: string, messages: Message[]): Promise<TaskRow | undefined> {
  const [row] = await db.rows(
    TaskRowSchema,
    sql`
    update tasks set history = history || ${json(messages)}, updated_at = now()
     where id = ${taskId} and org_id = ${orgId} and state = 'input-required'
 returning ${TASK_COLUMNS}`,
  );
  return row;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isTaskId(value: string): boolean {
  return UUID.test(value);
}

export async function findTask(db: Database, orgId: string, taskId: string): Promise<TaskRow | undefined> {
  if (!isTaskId(taskId)) return undefined;
  const [row] = await db.rows(TaskRowSchema, sql`select ${TASK_COLUMNS} from tasks where id = ${taskId} and org_id = ${orgId}`);
  return row;
}

const TaskVersionRow = z.object({ version: z.string() });

/** A task's state and last change, without its history and result: what a follower polls. */
export async function taskVersion(db: Database, orgId: string, taskId: string): Promise<string | undefined> {
  const [row] = await db.rows(
    TaskVersionRow,
    sql`
    select state::text || '@' || ${isoUtc(sql`updated_at`, 'US')} as version from tasks where id = ${taskId} and org_id = ${orgId}`,
  );
  return row?.version;
}

/** The task a messageId already opened or already called a tool on, for idempotent retries. */
export async function findTaskByMessageId(db: Database, orgId: string, messageId: string): Promise<TaskRow | undefined> {
  const [row] = await db.rows(
    TaskRowSchema,
    sql`
    select ${TASK_COLUMNS} from tasks where id = ${taskUsingMessageId(db.kind, sql`${orgId}::uuid`, sql`${messageId}`)}`,
  );
  return row;
}

export interface TaskFilter {
  contextId?: string;
  state?: TaskState;
  updatedAfter?: string;
  tool?: string;
  /** ISO-8601 bounds on created_at: from inclusive, to exclusive */
  createdFrom?: string;
  createdTo?: string;
  /** keyset cursor: tasks strictly older than this (created_at, id) */
  before?: { createdAt: string; id: string };
  limit: number;
}

/** The statements of one page of tasks: the page itself, newest first, and the count of all that match. */
export function taskPageStatements(orgId: string, filter: TaskFilter): { page: SQL; count: SQL } {
  const conditions = [sql`org_id = ${orgId}`];
  if (filter.contextId) conditions.push(sql`context_id = ${filter.contextId}`);
  if (filter.state) conditions.push(sql`state = ${filter.state}`);
  if (filter.updatedAfter) conditions.push(sql`updated_at >= ${filter.updatedAfter}::timestamptz`);
  if (filter.tool) conditions.push(sql`tool = ${filter.tool}`);
  if (filter.createdFrom) conditions.push(sql`created_at >= ${filter.createdFrom}::timestamptz`);
  if (filter.createdTo) conditions.push(sql`created_at < ${filter.createdTo}::timestamptz`);
  const where = sql.join(conditions, sql` and `);
  const before = filter.before ? sql`and (created_at, id) < (${filter.before.createdAt}::timestamptz, ${filter.before.id}::uuid)` : sql``;
  return {
    // Qualified: the selected created_at is the ISO text, and ordering by that would sort every row.
    page: sql`
      select ${TASK_COLUMNS} from tasks where ${where} ${before}
       order by tasks.created_at desc, tasks.id desc limit ${filter.limit}`,
    count: sql`select count(*)::int8 as total from tasks where ${where}`,
  };
}

const TaskCountRow = z.object({ total: z.bigint() });

export async function listTaskPage(db: Database, orgId: string, filter: TaskFilter): Promise<{ rows: TaskRow[]; total: number }> {
  const statements = taskPageStatements(orgId, filter);
  const [rows, counted] = await Promise.all([
    db.replica.rows(TaskRowSchema, statements.page),
    db.replica.rows(TaskCountRow, statements.count),
  ]);
  return { rows, total: Number(counted[0]?.total ?? 0n) };
}

/**
 * The row of a task just written from what the gateway wrote (only its id, organization and times
 * read back). Member by member, not spread: spreading the parsed row took 3 % of the gateway's CPU
 * in the bench's profile.
 */
export function writtenTaskRow(
  written: WrittenTask,
  task: Omit<NewCall, 'deadlineMs' | 'keyId'> & { keyId: string | null },
  outcome: Pick<TaskRow, 'state' | 'result' | 'error' | 'duration_ms'>,
): TaskRow {
  return {
    id: written.id,
    org_id: written.org_id,
    context_id: task.contextId,
    message_id: task.messageId,
    call_message_id: task.messageId,
    tool: task.tool,
    api_key_id: task.keyId,
    arguments: task.arguments,
    cost: task.cost,
    state: outcome.state,
    result: outcome.result,
    error: outcome.error,
    history: task.history,
    duration_ms: outcome.duration_ms,
    tool_version: task.toolVersion,
    deprecation_note: task.deprecationNote,
    provider_org_id: task.providerOrgId,
    provider_earning: task.providerEarning,
    created_at: written.created_at,
    updated_at: written.updated_at,
  };
}
