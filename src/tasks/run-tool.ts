import { ToolFailure, ToolInputError } from '../domain/errors.js';
import type { ToolAnswer } from '../tools/types.js';
import { inSpan } from '../tracing/spans.js';
import type { TaskRunContext } from './context.js';
import type { TaskFailure, TaskRow } from './store.js';
import type { ToolCall } from './tool-call.js';

class ToolTimeoutError extends Error {}

/** What a tool's failure is recorded as on its task; never the error's own text unless it is the caller's fault. */
export function failureOf(error: unknown, timeoutMs: number): TaskFailure {
  if (error instanceof ToolInputError) {
    return { reason: error.reason, message: error.message, details: error.details };
  }
  if (error instanceof ToolFailure) {
    return { reason: error.reason, message: `${error.message}; nothing was charged`, details: error.details };
  }
  if (error instanceof ToolTimeoutError) {
    return { reason: 'timeout', message: `the tool did not answer within ${timeoutMs} ms; nothing was charged` };
  }
  return { reason: 'tool_failed', message: 'the tool failed; nothing was charged' };
}

/** How long this call's tool may run: its own timeout (an LLM's), else the gateway's. */
export function toolTimeoutMs(ctx: TaskRunContext, call: ToolCall): number {
  return call.tool.timeoutMs ?? ctx.toolTimeoutMs;
}

/**
 * Runs the executor with a deadline; rejects with ToolTimeoutError when the deadline passes first,
 * and with `stop`'s reason when `stop` aborts first (the task was cancelled or its lease lost). The
 * executor's own signal aborts in both cases.
 */
export function runWithDeadline(ctx: TaskRunContext, call: ToolCall, taskId: string, stop?: AbortSignal): Promise<ToolAnswer> {
  return inSpan(`tool ${call.tool.name}`, { 'tool.name': call.tool.name }, () => raceDeadline(ctx, call, taskId, stop));
}

/**
 * The signal a tool's executor gets, made only if the executor reads it: the Tier 0 tools never do
 * (their reads are shared with other calls, see db/read-batcher.ts), and an AbortController per
 * call was 1.6 % of the gateway's CPU in the bench's profile. Read after the run was stopped, it is
 * already aborted with the stop's reason.
 */
function lazySignal(): { get(): AbortSignal; abort(reason: unknown): void } {
  let controller: AbortController | undefined;
  let stopped: { reason: unknown } | undefined;
  return {
    get: () => {
      if (!controller) {
        controller = new AbortController();
        if (stopped) controller.abort(stopped.reason);
      }
      return controller.signal;
    },
    abort: (reason) => {
      stopped ??= { reason };
      controller?.abort(reason);
    },
  };
}

async function raceDeadline(ctx: TaskRunContext, call: ToolCall, taskId: string, stop?: AbortSignal): Promise<ToolAnswer> {
  const signal = lazySignal();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        const error = new ToolTimeoutError();
        signal.abort(error);
        reject(error);
      },
      toolTimeoutMs(ctx, call),
    );
    stop?.addEventListener(
      'abort',
      () => {
        signal.abort(stop.reason);
        reject(stop.reason);
      },
      { once: true },
    );
  });
  ctx.observe.toolRunning(1);
  try {
    const work = call.tool.execute(call.arguments, {
      db: ctx.db,
      taskId,
      get signal() {
        return signal.get();
      },
      now: new Date(),
    });
    // After a timeout nobody awaits the executor any more; its late rejection must not go unhandled.
    work.catch(() => {});
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    ctx.observe.toolRunning(-1);
  }
}

/** Logs an unexpected tool failure (the caller's own mistakes are answered, not logged as errors). */
export function logToolFailure(ctx: TaskRunContext, failure: TaskFailure, error: unknown, task: { id: string; tool: string }): void {
  if (failure.reason === 'tool_failed') {
    ctx.log.error({ err: error, task: task.id, tool: task.tool }, 'tool failed');
  }
}

/** The one line each paid call leaves, however it settled. */
export function logPaidCall(ctx: TaskRunContext, task: TaskRow, ms: number): void {
  ctx.log.info(
    {
      org: ctx.orgId,
      tool: task.tool,
      task: task.id,
      state: task.state,
      cost: task.state === 'completed' ? task.cost.toString() : '0',
      ms,
    },
    'paid call',
  );
}
