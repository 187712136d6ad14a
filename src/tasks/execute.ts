import { performance } from 'node:perf_hooks';
import { settleWith } from '../billing/holds.js';
import { spendPeriodsAt } from '../billing/spend-caps.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { ToolInputError } from '../domain/errors.js';
import { inSpan } from '../tracing/spans.js';
import type { TaskRunContext } from './context.js';
import { failureOf, logPaidCall, logToolFailure, runWithDeadline, toolTimeoutMs } from './run-tool.js';
import { completeWorkingTask, failWorkingTask, findTask, type TaskRow, TaskRowSchema } from './store.js';
import type { ToolCall } from './tool-call.js';

/**
 * Runs a held call's tool under this instance's lease and settles its hold: capture on success,
 * release on any failure. A run whose task was cancelled or taken over meanwhile settles nothing:
 * whoever ended the task settled it. Returns the task as it ends up.
 */
export async function executeCall(ctx: TaskRunContext, task: TaskRow, call: ToolCall): Promise<TaskRow> {
  const started = performance.now();
  const owner = ctx.leases.owner;
  let settled: TaskRow | undefined;
  let inputError: ToolInputError | undefined;
  await ctx.leases.hold(task.id, async (stop) => {
    try {
      const result = await runWithDeadline(ctx, call, task.id, stop);
      const ms = Math.round(performance.now() - started);
      [settled] = await inSpan('charge', { 'task.id': task.id, 'tool.name': call.tool.name, 'charge.settle': 'capture' }, () =>
        ctx.db.rows(
          TaskRowSchema,
          settleWith('capture', completeWorkingTask(task.id, owner, result, ms), { periods: spendPeriodsAt(ctx.clock()) }),
        ),
      );
      if (settled) {
        ctx.observe.charged(call.tool.name, settled.cost);
        ctx.observe.toolCallEnded({ tool: call.tool.name, tier: call.tool.tier, outcome: 'completed', toolSeconds: ms / 1000 });
      }
    } catch (error) {
      // Stryker disable next-line ConditionalExpression: a stopped run's release matches no working task under its lease, so nothing moves; only a log line differs
      if (stop.aborted) return;
      // The database, not the tool, failed: the task stays working, reserved, until its lease
      // lapses and a worker runs it again, or its deadline passes and recovery releases it; the
      // caller, answered "unavailable", reads which by sending the same messageId again.
      if (isDatabaseUnavailable(error)) throw error;
      const failure = failureOf(error, toolTimeoutMs(ctx, call));
      logToolFailure(ctx, failure, error, { id: task.id, tool: call.tool.name });
      if (error instanceof ToolInputError) inputError = error;
      const ms = Math.round(performance.now() - started);
      [settled] = await inSpan('charge', { 'task.id': task.id, 'tool.name': call.tool.name, 'charge.settle': 'release' }, () =>
        ctx.db.rows(TaskRowSchema, settleWith('release', failWorkingTask(task.id, owner, failure, ms), { reason: failure.reason })),
      );
      if (settled) ctx.observe.toolCallEnded({ tool: call.tool.name, tier: call.tool.tier, outcome: 'failed', toolSeconds: ms / 1000 });
    }
  });
  const final = settled ?? (await findTask(ctx.db, task.org_id, task.id)) ?? task;
  logPaidCall(ctx, final, Math.round(performance.now() - started));
  // A caller's bad arguments (an unknown agent, say) are answered, naming the failed task they left.
  if (inputError) throw inputError.onTask(task.id);
  return final;
}
