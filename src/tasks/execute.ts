import { performance } from 'node:perf_hooks';
import { settleWith } from '../billing/holds.js';
import { rpcErrors } from '../rpc/errors.js';
import { ToolInputError } from '../tools/errors.js';
import type { CallerContext } from './context.js';
import { completeWorkingTask, failWorkingTask, findTask, type TaskFailure, type TaskRow } from './store.js';
import type { ToolCall } from './tool-call.js';

class ToolTimeoutError extends Error {}

function failureOf(error: unknown, timeoutMs: number): TaskFailure {
  if (error instanceof ToolInputError) {
    return { reason: error.reason, message: error.message, details: error.details };
  }
  if (error instanceof ToolTimeoutError) {
    return { reason: 'timeout', message: `the tool did not answer within ${timeoutMs} ms; nothing was charged` };
  }
  return { reason: 'tool_failed', message: 'the tool failed; nothing was charged' };
}

/** Runs the executor with a deadline; rejects with ToolTimeoutError when the deadline passes first. */
async function runWithDeadline(ctx: CallerContext, call: ToolCall): Promise<Record<string, unknown>> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new ToolTimeoutError();
      controller.abort(error);
      reject(error);
    }, ctx.toolTimeoutMs);
  });
  const work = call.tool.execute(call.arguments, { db: ctx.db, signal: controller.signal, now: new Date() });
  // After a timeout nobody awaits the executor any more; its late rejection must not go unhandled.
  work.catch(() => {});
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a working task's tool and settles its hold: capture on success, release on any failure.
 * Returns the task as it ends up (a concurrent cancel wins over a late result).
 */
export async function executeCall(ctx: CallerContext, task: TaskRow, call: ToolCall): Promise<TaskRow> {
  const started = performance.now();
  let settled: TaskRow | undefined;
  let inputError: ToolInputError | undefined;
  try {
    const result = await runWithDeadline(ctx, call);
    const ms = Math.round(performance.now() - started);
    [settled] = await ctx.db.rows<TaskRow>(settleWith('capture', completeWorkingTask(task.id, result, ms)));
  } catch (error) {
    const failure = failureOf(error, ctx.toolTimeoutMs);
    if (failure.reason === 'tool_failed') ctx.log.error({ err: error, task: task.id, tool: task.tool }, 'tool failed');
    if (error instanceof ToolInputError) inputError = error;
    const ms = Math.round(performance.now() - started);
    [settled] = await ctx.db.rows<TaskRow>(settleWith('release', failWorkingTask(task.id, failure, ms), failure.reason));
  }
  const final = settled ?? (await findTask(ctx.db, ctx.orgId, task.id)) ?? task;
  ctx.log.info(
    {
      org: ctx.orgId,
      tool: task.tool,
      task: task.id,
      state: final.state,
      cost: final.state === 'completed' ? task.cost.toString() : '0',
      ms: Math.round(performance.now() - started),
    },
    'paid call',
  );
  if (inputError) {
    throw rpcErrors.invalidParams(`Invalid params: ${inputError.message}`, {
      reason: inputError.reason,
      ...inputError.details,
      taskId: task.id,
    });
  }
  return final;
}
