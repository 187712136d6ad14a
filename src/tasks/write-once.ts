import { sqlState } from '../db/sql.js';
import type { CallerContext } from './context.js';
import { findTaskByMessageId, type TaskRow } from './store.js';

const UNIQUE_VIOLATION = '23505';

/**
 * Runs a statement that writes a task; a unique-index conflict means the messageId was seen
 * already, and the answer is the task it produced then.
 */
export async function writeOnce<Row>(
  ctx: CallerContext,
  messageId: string,
  write: () => Promise<Row | undefined>,
): Promise<{ row: Row | undefined; replay: TaskRow | undefined }> {
  try {
    return { row: await write(), replay: undefined };
  } catch (error) {
    // Stryker disable next-line ConditionalExpression: another failure finds no task by a messageId that never wrote one
    if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
    const replay = await findTaskByMessageId(ctx.db, ctx.orgId, messageId);
    // Stryker disable next-line ConditionalExpression,BooleanLiteral: a unique violation on (org_id, message_id) means the task exists, so it is always found
    if (!replay) throw error;
    return { row: undefined, replay };
  }
}

/**
 * After a write that wrote nothing: the task this messageId produced earlier (a retry of it), or
 * else the refusal `refuse` makes (the credit was short).
 */
export async function earlierTaskOr(ctx: CallerContext, messageId: string, refuse: () => Error | Promise<Error>): Promise<TaskRow> {
  const earlier = await findTaskByMessageId(ctx.db, ctx.orgId, messageId);
  if (earlier) return earlier;
  throw await refuse();
}
