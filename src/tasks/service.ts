import { randomUUID } from 'node:crypto';
import type { SQL } from 'drizzle-orm';
import { reserveWith, settleWith } from '../billing/holds.js';
import { spendPeriodsAt } from '../billing/spend-caps.js';
import { isDatabaseUnavailable, warnDatabaseUnavailable } from '../db/unavailable.js';
import {
  CreditRefused,
  DomainError,
  InvalidInput,
  SpendCapExceeded,
  TaskNotCancelable,
  TaskNotFound,
  ToolNotAllowed,
  UnsupportedOperation,
} from '../domain/errors.js';
import { type Message, placedIn, type TaskState, type TaskView, TERMINAL_STATES } from '../domain/task-model.js';
import { inSpan } from '../tracing/spans.js';
import type { CallerContext } from './context.js';
import { creditError } from './credit-errors.js';
import { executeCall } from './execute.js';
import { runInstantCall } from './instant-call.js';
import { instructionsMessage } from './instructions.js';
import { requireToolAllowed } from './key-scope.js';
import { toolTimeoutMs } from './run-tool.js';
import {
  appendToWaitingTask,
  cancelOpenTask,
  findTask,
  findTaskByMessageId,
  insertWaitingTask,
  insertWorkingTaskFromHold,
  isTaskId,
  listTaskPage,
  messageIdUnused,
  startCallOnWaitingTaskFromHold,
  type TaskRow,
  TaskRowSchema,
  waitingTaskGuard,
} from './store.js';
import { calledVersion, readToolCall, type ToolCall } from './tool-call.js';
import { toTaskView } from './view.js';
import { earlierTaskOr, writeOnce } from './write-once.js';

interface ViewOptions {
  historyLength?: number;
}

interface SendOptions {
  /** answer with the task as soon as it is accepted (working), and run the held call in the background */
  returnImmediately?: boolean;
  /**
   * Told a held call's task once its price is reserved, before its tool runs: a caller that waits
   * for the answer learns the task it may cancel meanwhile (an MCP client's notifications/cancelled).
   */
  onAccepted?: (task: TaskView) => void;
}

/**
 * Runs a held call: awaited for a blocking send; in the background for one that asked not to
 * block, whose caller follows the task with GetTask (or a stream). A caller's own mistake found
 * while running (an unknown agent) fails the task either way; in the background nobody is there
 * to be told but the task.
 */
async function runHeld(ctx: CallerContext, row: TaskRow, call: ToolCall, options: SendOptions): Promise<TaskRow> {
  options.onAccepted?.(toTaskView(row, { historyLength: 0 }));
  if (!options.returnImmediately) return executeCall(ctx, row, call);
  void executeCall(ctx, row, call).catch((error: unknown) => {
    if (error instanceof DomainError) return;
    // the task stays working: run again once its lease lapses, or released at its deadline
    if (isDatabaseUnavailable(error)) warnDatabaseUnavailable(ctx.log, error);
    else ctx.log.error({ err: error, task: row.id }, 'background task run failed');
  });
  return row;
}

/** A held call's reserve statement (billing/holds.ts), in a span of its own. */
function reserveRows(ctx: CallerContext, call: ToolCall, statement: SQL): Promise<TaskRow[]> {
  return inSpan('reserve', { 'tool.name': call.tool.name }, () => ctx.db.rows(TaskRowSchema, statement));
}

async function startNewCall(ctx: CallerContext, message: Message, call: ToolCall, contextId: string, options: SendOptions) {
  if (call.tool.settlement === 'instant' && ctx.settlement === 'by-tool') {
    return runInstantCall(ctx, message, call, contextId);
  }
  const id = randomUUID();
  const { row, replay } = await writeOnce(ctx, message.messageId, async () => {
    const [created] = await reserveRows(
      ctx,
      call,
      reserveWith({
        orgId: ctx.orgId,
        keyId: ctx.key.id,
        cost: call.tool.costMicroUsdc,
        periods: spendPeriodsAt(ctx.clock()),
        guard: messageIdUnused(ctx.db.kind, ctx.orgId, message.messageId),
        taskWrite: insertWorkingTaskFromHold(
          {
            id,
            keyId: ctx.key.id,
            contextId,
            messageId: message.messageId,
            ...calledVersion(call, ctx.platformFeeBps),
            arguments: call.rawArguments,
            history: [placedIn(message, id, contextId)],
            deadlineMs: toolTimeoutMs(ctx, call) + ctx.taskDeadlineSlackMs,
          },
          ctx.leases.claim(),
        ),
      }),
    );
    return created;
  });
  if (replay) return replay;
  if (row) return runHeld(ctx, row, call, options);
  return earlierTaskOr(ctx, message.messageId, () => creditError(ctx, call.tool.costMicroUsdc));
}

async function openWaitingTask(ctx: CallerContext, message: Message, contextId: string) {
  const id = randomUUID();
  const created = await insertWaitingTask(ctx.db, {
    id,
    orgId: ctx.orgId,
    keyId: ctx.key.id,
    contextId,
    messageId: message.messageId,
    history: [placedIn(message, id, contextId), instructionsMessage(id, contextId, 1, ctx.tools)],
  });
  return created ?? (await findTaskByMessageId(ctx.db, ctx.orgId, message.messageId));
}

function notAcceptingInput(taskId: string, state: TaskState): UnsupportedOperation {
  return new UnsupportedOperation('task_not_accepting_input', `Task ${taskId} is ${state} and takes no more messages`, {
    taskId,
    state,
  });
}

async function continueTask(ctx: CallerContext, message: Message, call: ToolCall | undefined, taskId: string, options: SendOptions) {
  const replay = await findTaskByMessageId(ctx.db, ctx.orgId, message.messageId);
  if (replay) return replay;
  const task = await findTask(ctx.db, ctx.orgId, taskId);
  if (!task) throw new TaskNotFound(taskId);
  if (message.contextId && message.contextId !== task.context_id) {
    throw new InvalidInput('context_mismatch', 'contextId does not match the task', {
      taskId,
      contextId: task.context_id,
    });
  }
  if (task.state !== 'input-required') {
    throw notAcceptingInput(taskId, task.state);
  }
  const appended = placedIn(message, taskId, task.context_id);
  if (!call) {
    const turn = task.history.filter((m) => m.role === 'agent').length + 1;
    const updated = await appendToWaitingTask(ctx.db, ctx.orgId, taskId, [
      appended,
      instructionsMessage(taskId, task.context_id, turn, ctx.tools),
    ]);
    return updated ?? (await findTask(ctx.db, ctx.orgId, taskId)) ?? task;
  }
  const { row, replay: raced } = await writeOnce(ctx, message.messageId, async () => {
    const [started] = await reserveRows(
      ctx,
      call,
      reserveWith({
        orgId: ctx.orgId,
        keyId: ctx.key.id,
        cost: call.tool.costMicroUsdc,
        periods: spendPeriodsAt(ctx.clock()),
        guard: waitingTaskGuard(ctx.orgId, taskId),
        taskWrite: startCallOnWaitingTaskFromHold(
          taskId,
          {
            keyId: ctx.key.id,
            messageId: message.messageId,
            ...calledVersion(call, ctx.platformFeeBps),
            arguments: call.rawArguments,
            appended: [appended],
            deadlineMs: toolTimeoutMs(ctx, call) + ctx.taskDeadlineSlackMs,
          },
          ctx.leases.claim(),
        ),
      }),
    );
    return started;
  });
  if (raced) return raced;
  if (row) return runHeld(ctx, row, call, options);
  const now = await findTask(ctx.db, ctx.orgId, taskId);
  if (now && now.state !== 'input-required') {
    throw notAcceptingInput(taskId, now.state);
  }
  throw await creditError(ctx, call.tool.costMicroUsdc);
}

/**
 * A message from an agent: a tool call opens a paid task (reserve → run → capture | release), a
 * message without one opens a free task waiting for input, a message on a waiting task continues it.
 * The same messageId from the same organization always answers with the task it first produced.
 */
export async function sendMessage({
  ctx,
  input,
}: {
  ctx: CallerContext;
  input: { message: Message } & ViewOptions & SendOptions;
}): Promise<TaskView> {
  const { message } = input;
  const call = readToolCall(message, ctx.tools);
  try {
    if (call) requireToolAllowed(ctx.key, call.tool, ctx.tools);
    const row = message.taskId
      ? await continueTask(ctx, message, call, message.taskId, input)
      : call
        ? await startNewCall(ctx, message, call, message.contextId ?? randomUUID(), input)
        : await openWaitingTask(ctx, message, message.contextId ?? randomUUID());
    if (!row) throw new Error('task vanished after it was written');
    return toTaskView(row, input);
  } catch (error) {
    if (call && isRefusal(error)) {
      ctx.observe.refused(error.reason);
      ctx.observe.toolCallEnded({ tool: call.tool.name, tier: call.tool.tier, outcome: 'refused' });
    }
    throw error;
  }
}

/** A paid call refused before its tool ran or anything was charged: credit, a spend cap, or the key's scope. */
function isRefusal(error: unknown): error is CreditRefused | SpendCapExceeded | ToolNotAllowed {
  return error instanceof CreditRefused || error instanceof SpendCapExceeded || error instanceof ToolNotAllowed;
}

export async function getTask({ ctx, input }: { ctx: CallerContext; input: { id: string } & ViewOptions }) {
  const row = await findTask(ctx.db, ctx.orgId, input.id);
  if (!row) throw new TaskNotFound(input.id);
  return toTaskView(row, input);
}

export async function cancelTask({ ctx, input }: { ctx: CallerContext; input: { id: string } }): Promise<TaskView> {
  const task = await findTask(ctx.db, ctx.orgId, input.id);
  if (!task) throw new TaskNotFound(input.id);
  if (TERMINAL_STATES.has(task.state)) throw new TaskNotCancelable(task.id, task.state);
  const [canceled] = await ctx.db.rows(TaskRowSchema, settleWith('release', cancelOpenTask(ctx.orgId, task.id), { reason: 'canceled' }));
  if (canceled) {
    // A run of this instance stops at once; one elsewhere at its next lease renewal.
    ctx.leases.cancel(task.id);
    ctx.log.info({ org: ctx.orgId, task: task.id, tool: canceled.tool }, 'task canceled');
    const tool = canceled.tool === null ? undefined : ctx.tools.find(canceled.tool);
    if (tool) ctx.observe.toolCallEnded({ tool: tool.name, tier: tool.tier, outcome: 'canceled' });
    return toTaskView(canceled);
  }
  const after = await findTask(ctx.db, ctx.orgId, task.id);
  throw new TaskNotCancelable(task.id, after?.state ?? task.state);
}

export interface TaskPage {
  tasks: TaskView[];
  nextPageToken: string;
  pageSize: number;
  totalSize: number;
}

export function encodePageToken(row: TaskRow): string {
  return Buffer.from(JSON.stringify([row.created_at, row.id])).toString('base64url');
}

/** The exact form TASK_COLUMNS gives created_at, so a forged token cannot reach the SQL cast. */
const ISSUED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export function decodePageToken(token: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && typeof id === 'string' && ISSUED_AT.test(createdAt) && isTaskId(id)) {
      return { createdAt, id };
    }
  } catch {
    // falls through to the error below
  }
  throw new InvalidInput('invalid_page_token', 'pageToken is not one this gateway issued');
}

export async function listTasks({
  ctx,
  input,
}: {
  ctx: CallerContext;
  input: {
    contextId?: string;
    state?: TaskState;
    pageSize?: number;
    pageToken?: string;
    updatedAfter?: string;
  } & ViewOptions;
}): Promise<TaskPage> {
  const pageSize = input.pageSize ?? 50;
  const before = input.pageToken ? decodePageToken(input.pageToken) : undefined;
  const { rows, total } = await listTaskPage(ctx.db, ctx.orgId, {
    ...(input.contextId ? { contextId: input.contextId } : {}),
    ...(input.state ? { state: input.state } : {}),
    ...(input.updatedAfter ? { updatedAfter: input.updatedAfter } : {}),
    ...(before ? { before } : {}),
    limit: pageSize + 1,
  });
  const page = rows.slice(0, pageSize);
  const last = page.at(-1);
  return {
    tasks: page.map((row) => toTaskView(row, input)),
    nextPageToken: rows.length > pageSize && last ? encodePageToken(last) : '',
    pageSize,
    totalSize: total,
  };
}
