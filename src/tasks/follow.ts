import { setTimeout as sleep } from 'node:timers/promises';
import { type TaskState, type TaskView, TERMINAL_STATES } from '../domain/task-model.js';
import type { CallerContext } from './context.js';
import { findTask, taskVersion } from './store.js';
import { toTaskView } from './view.js';

/** States a stream ends on: the task is finished, or waits for the caller's next message. */
export function endsStream(state: TaskState): boolean {
  return TERMINAL_STATES.has(state) || state === 'input-required';
}

/**
 * The task each time it changes (state or timestamp), read from the database so that a caller on
 * any instance can follow a task run by any other; ends once the task reaches a state that ends a
 * stream, when the task is gone, or when `signal` aborts (the caller hung up).
 */
export async function* followTask(
  ctx: CallerContext,
  taskId: string,
  options: { pollMs: number; signal: AbortSignal },
): AsyncGenerator<TaskView> {
  let seen = '';
  while (!options.signal.aborted) {
    // The light read each time; the whole task (history, result) only when it changed.
    const version = await taskVersion(ctx.db, ctx.orgId, taskId);
    if (version === undefined) return;
    if (version !== seen) {
      const row = await findTask(ctx.db, ctx.orgId, taskId);
      if (!row) return;
      seen = `${row.state}@${row.updated_at}`;
      yield toTaskView(row);
      if (endsStream(row.state)) return;
    }
    await sleep(options.pollMs, undefined, { signal: options.signal }).catch(() => undefined);
  }
}

/** How often a call started elsewhere is re-read while it runs (as A2A streams read theirs). */
const RUNNING_POLL_MS = 100;

/**
 * The task once it has ended (or waits for input): a call another request started, found again by
 * its idempotency key while it runs, perhaps on another instance, is waited for here.
 */
export async function taskWhenEnded(ctx: CallerContext, running: TaskView): Promise<TaskView> {
  let last = running;
  for await (const view of followTask(ctx, running.id, { pollMs: RUNNING_POLL_MS, signal: new AbortController().signal })) last = view;
  return last;
}
