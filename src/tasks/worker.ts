import { sql } from 'drizzle-orm';
import { settleWith } from '../billing/holds.js';
import { repeat } from '../repeat.js';
import type { TaskRunContext } from './context.js';
import { executeCall } from './execute.js';
import { failWorkingTask, TASK_COLUMNS, type TaskRow, TaskRowSchema } from './store.js';
import type { ToolCall } from './tool-call.js';

/** An instance takes a task over at most this many times; after that it waits for recovery to fail it, uncharged. */
const MAX_ATTEMPTS = 3;

/** The tool call a stored task was accepted with, of the version it was accepted for, checked again against today's tools. */
function storedCall(ctx: Omit<TaskRunContext, 'orgId'>, task: TaskRow): ToolCall | undefined {
  const found = task.tool ? ctx.tools.resolve(task.tool, task.tool_version ?? undefined) : undefined;
  const tool = found?.kind === 'found' ? found.tool : undefined;
  if (!tool?.enabled) return undefined;
  const parsed = tool.params.safeParse(task.arguments ?? {});
  return parsed.success ? { tool, arguments: parsed.data, rawArguments: (task.arguments ?? {}) as Record<string, unknown> } : undefined;
}

/**
 * Takes over held tasks whose lease lapsed (the instance running them died or stalled) before
 * their deadline, and runs them here: the queue is the tasks table, claimed with FOR UPDATE SKIP
 * LOCKED so two instances never take the same task. Only the lease holder can settle, so a task
 * completes (and is charged) once even if a stalled first run wakes up. Returns how many it took.
 */
export async function takeOverLapsedTasks(ctx: Omit<TaskRunContext, 'orgId'>, limit: number): Promise<number> {
  if (limit <= 0) return 0;
  const { owner, until } = ctx.leases.claim();
  const taken = await ctx.db.rows(
    TaskRowSchema,
    sql`
    update tasks set lease_owner = ${owner}, lease_until = ${until}, attempts = attempts + 1, updated_at = now()
     where id in (
       select id from tasks
        where state = 'working' and deadline_at > now() and lease_until < now() and attempts < ${MAX_ATTEMPTS}
        order by deadline_at
        limit ${limit}
          for update skip locked)
 returning ${TASK_COLUMNS}`,
  );
  for (const task of taken) {
    const taskCtx: TaskRunContext = { ...ctx, orgId: task.org_id };
    const call = storedCall(ctx, task);
    ctx.log.info({ task: task.id, tool: task.tool, org: task.org_id }, 'took over a task whose lease lapsed');
    if (!call) {
      const failure = { reason: 'tool_unavailable', message: `tool ${task.tool ?? '(none)'} is no longer offered; nothing was charged` };
      await ctx.db.run(settleWith('release', failWorkingTask(task.id, owner, failure, 0), { reason: failure.reason }));
      continue;
    }
    void executeCall(taskCtx, task, call).catch((error: unknown) =>
      ctx.log.warn({ err: error, task: task.id }, 'taken-over task ended with an error'),
    );
  }
  return taken.length;
}

/** Looks for lapsed tasks every `intervalMs`, keeping at most `maxRunning` held tasks running here. */
export function startTaskWorker(
  ctx: Omit<TaskRunContext, 'orgId'>,
  options: { intervalMs: number; maxRunning: number },
): () => Promise<void> {
  return repeat(() => takeOverLapsedTasks(ctx, options.maxRunning - ctx.leases.running()), {
    intervalMs: options.intervalMs,
    onError: (error) => ctx.log.warn({ err: error }, 'task worker pass failed'),
  });
}
