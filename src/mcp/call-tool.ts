import { randomUUID } from 'node:crypto';
import { type CallToolResult, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { getCreditAccount } from '../billing/accounts.js';
import { type AnyDomainError, isDomainError, TaskNotCancelable } from '../domain/errors.js';
import type { Message, TaskView } from '../domain/task-model.js';
import type { CallerContext } from '../tasks/context.js';
import { endsStream, followTask } from '../tasks/follow.js';
import { cancelTask, sendMessage } from '../tasks/service.js';
import { answeredResult, refusalResult, unansweredResult } from './call-result.js';

/** A tools/call as the gateway reads it: the tool, its arguments, and what `_meta` may add. */
export interface McpToolCall {
  name: string;
  arguments: Record<string, unknown>;
  /** an exact version or a semver range of a catalog tool (`_meta.version`); none: the newest active */
  version?: string;
  /** `_meta.idempotencyKey`: the same key from the same organization is one call, charged once */
  idempotencyKey?: string;
}

/** Sends a progress notification to the client, when it asked for them (a progressToken). */
export type SendProgress = (progress: number, message: string) => Promise<void>;

/** How often a held call in progress is re-read, and a progress notification sent. */
export const HELD_POLL_MS = 100;
export const PROGRESS_EVERY_MS = 1_000;

/**
 * The refusals that say the tool named does not exist as asked: a protocol error (-32602), as MCP
 * has it for an unknown tool, rather than a tool result. Every other refusal is a result with
 * `isError`, which the model reads.
 */
const NO_SUCH_TOOL: ReadonlySet<string> = new Set([
  'unknown_tool',
  'tool_retired',
  'invalid_version',
  'no_matching_version',
  'tool_disabled',
]);

function noSuchTool(error: AnyDomainError): McpError {
  return new McpError(ErrorCode.InvalidParams, error.message, { reason: error.reason, ...error.details });
}

function messageOf(call: McpToolCall): Message {
  return {
    messageId: call.idempotencyKey ?? randomUUID(),
    role: 'user',
    parts: [
      {
        kind: 'data',
        data: { tool: call.name, ...(call.version === undefined ? {} : { version: call.version }), arguments: call.arguments },
      },
    ],
  };
}

/** What the caller's organization may still spend after the call, told with its answer. */
async function availableAfter(ctx: CallerContext): Promise<bigint | undefined> {
  return (await getCreditAccount(ctx.db, ctx.orgId))?.available;
}

/**
 * Follows a held call until it ends, telling the client it is working at acceptance and every
 * PROGRESS_EVERY_MS when it asked for progress. `canceled` aborting (the client's
 * notifications/cancelled) cancels the task, which releases its hold and stops its run.
 */
async function awaitHeld(
  ctx: CallerContext,
  accepted: TaskView,
  canceled: AbortSignal,
  progress?: SendProgress,
): Promise<TaskView | 'canceled'> {
  let sent = 0;
  const started = Date.now();
  const tell = (what: string) => progress?.(++sent, `task ${accepted.id} ${what}`).catch(() => undefined);
  void tell('accepted: working');
  const ticker = progress
    ? setInterval(() => void tell(`working, ${Math.round((Date.now() - started) / 1000)} s`), PROGRESS_EVERY_MS)
    : undefined;
  let last = accepted;
  try {
    for await (const view of followTask(ctx, accepted.id, { pollMs: HELD_POLL_MS, signal: canceled })) last = view;
  } finally {
    clearInterval(ticker);
  }
  if (!canceled.aborted) return last;
  try {
    await cancelTask({ ctx, input: { id: accepted.id } });
  } catch (error) {
    // it ended before the cancellation reached it: settled as it ended, and nobody waits for the answer any more
    if (!(error instanceof TaskNotCancelable)) throw error;
  }
  return 'canceled';
}

/**
 * A tools/call through the same paid path as an A2A tool call (tasks/service.ts): charged only for
 * an answer, once per idempotency key, within the balance and spend caps. Answers the tool result,
 * or 'canceled' when the client canceled the call, which is then not answered at all.
 */
export async function callTool({
  ctx,
  call,
  canceled,
  progress,
}: {
  ctx: CallerContext;
  call: McpToolCall;
  canceled: AbortSignal;
  progress?: SendProgress;
}): Promise<CallToolResult | 'canceled'> {
  let view: TaskView;
  try {
    view = await sendMessage({ ctx, input: { message: messageOf(call), returnImmediately: true, historyLength: 0 } });
  } catch (error) {
    if (!isDomainError(error)) throw error;
    if (NO_SUCH_TOOL.has(error.reason)) throw noSuchTool(error);
    return refusalResult(error);
  }
  const ended = endsStream(view.state) ? view : await awaitHeld(ctx, view, canceled, progress);
  if (ended === 'canceled') return ended;
  return ended.state === 'completed' ? answeredResult(ended, await availableAfter(ctx)) : unansweredResult(ended);
}
