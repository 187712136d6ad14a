import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { CreditRefused, ToolInputError } from '../domain/errors.js';
import { type Message, placedIn } from '../domain/task-model.js';
import type { ToolAnswer } from '../tools/types.js';
import { inSpan } from '../tracing/spans.js';
import type { CallerContext } from './context.js';
import { creditError } from './credit-errors.js';
import { failureOf, logPaidCall, logToolFailure, runWithDeadline, toolTimeoutMs } from './run-tool.js';
import { findTaskByMessageId, insertFailedTask, type NewCall, type TaskRow, writtenTaskRow } from './store.js';
import { calledVersion, type ToolCall } from './tool-call.js';
import { earlierTaskOr, writeOnce } from './write-once.js';

/**
 * A new call to an instant tool: the tool runs first, then ONE statement charges the organization
 * and records the completed task with its answer, together with other calls of the organization
 * answered meanwhile (see charge-combiner.ts; docs/adr/0003-instant-calls-settle-in-one-charge.md).
 * A tool that fails or times out leaves a failed task and moves no money; an answer that cannot be
 * paid for any more is withheld and leaves nothing behind.
 */
export async function runInstantCall(ctx: CallerContext, message: Message, call: ToolCall, contextId: string): Promise<TaskRow> {
  const cost = call.tool.costMicroUsdc;
  const availableAtAuth = ctx.availableAtAuth;
  // Stryker disable next-line ConditionalExpression,BlockStatement: the charge refuses the same call with the same error under the row lock; this only spares a tool run
  if (availableAtAuth !== undefined && (availableAtAuth === null || availableAtAuth < cost)) {
    return earlierTaskOr(ctx, message.messageId, () => new CreditRefused(cost, availableAtAuth));
  }
  const capLeftAtAuth = ctx.capLeftAtAuth;
  if (capLeftAtAuth !== undefined && capLeftAtAuth !== null && capLeftAtAuth < cost) {
    return earlierTaskOr(ctx, message.messageId, () => creditError(ctx, cost));
  }
  if (call.tool.runsUpstream) {
    const earlier = await findTaskByMessageId(ctx.db, ctx.orgId, message.messageId);
    if (earlier) return earlier;
  }
  const id = randomUUID();
  const task = {
    id,
    keyId: ctx.key.id,
    contextId,
    messageId: message.messageId,
    ...calledVersion(call, ctx.platformFeeBps),
    arguments: call.rawArguments,
    history: [placedIn(message, id, contextId)],
  };
  const started = performance.now();
  let result: ToolAnswer;
  try {
    result = await runWithDeadline(ctx, call, id);
  } catch (error) {
    // The database, not the tool, failed (a Tier 0 tool reads it): nothing is written, and the
    // caller, answered "unavailable", retries the same messageId once it is back.
    if (isDatabaseUnavailable(error)) throw error;
    return recordFailure(ctx, call, task, error, started);
  }
  const durationMs = Math.round(performance.now() - started);
  // The span covers the wait for a statement slot and the statement shared with other calls (charge-combiner.ts).
  const { row, replay } = await inSpan('charge', { 'task.id': id, 'tool.name': task.tool }, () =>
    writeOnce(ctx, message.messageId, () => ctx.charges.charge({ ...task, orgId: ctx.orgId, result, durationMs })),
  );
  if (replay) return replay;
  if (!row) return earlierTaskOr(ctx, message.messageId, () => creditError(ctx, cost));
  const completed = writtenTaskRow(row, task, { state: 'completed', result, error: null, duration_ms: durationMs });
  ctx.observe.charged(call.tool.name, cost);
  ctx.observe.toolCallEnded({ tool: call.tool.name, tier: call.tool.tier, outcome: 'completed', toolSeconds: durationMs / 1000 });
  logPaidCall(ctx, completed, durationMs);
  return completed;
}

type InstantTask = Omit<NewCall, 'deadlineMs'>;

async function recordFailure(ctx: CallerContext, call: ToolCall, task: InstantTask, error: unknown, started: number) {
  const failure = failureOf(error, toolTimeoutMs(ctx, call));
  logToolFailure(ctx, failure, error, task);
  const durationMs = Math.round(performance.now() - started);
  const written = await insertFailedTask(ctx.db, { ...task, orgId: ctx.orgId }, { failure, durationMs });
  // Stryker disable next-line StringLiteral: a task neither written nor found cannot be; the message is for the impossible
  if (!written) return earlierTaskOr(ctx, task.messageId, () => new Error('failed task neither written nor found'));
  const failed = writtenTaskRow(written, task, { state: 'failed', result: null, error: failure, duration_ms: durationMs });
  ctx.observe.toolCallEnded({ tool: call.tool.name, tier: call.tool.tier, outcome: 'failed', toolSeconds: durationMs / 1000 });
  logPaidCall(ctx, failed, durationMs);
  if (error instanceof ToolInputError) throw error.onTask(task.id);
  return failed;
}
