import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { getCreditAccount } from '../billing/accounts.js';
import { type AnyDomainError, isDomainError, TaskNotCancelable } from '../domain/errors.js';
import type { TaskView } from '../domain/task-model.js';
import type { CallerContext } from '../tasks/context.js';
import { endsStream, taskWhenEnded } from '../tasks/follow.js';
import { cancelTask, sendMessage } from '../tasks/service.js';
import { toolCallMessage } from '../tasks/tool-call.js';
import { answeredResult, refusalResult, reusedKeyResult, unansweredResult } from './call-result.js';
import { INVALID_PARAMS, McpProtocolError } from './protocol-error.js';

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

/** How often a held call in progress tells a client that asked for progress. */
const PROGRESS_EVERY_MS = 1_000;

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

function noSuchTool(error: AnyDomainError): McpProtocolError {
  return new McpProtocolError(INVALID_PARAMS, error.message, { reason: error.reason, ...error.details });
}

/** What the caller's organization may still spend after the call, told with its answer. */
async function availableAfter(ctx: CallerContext): Promise<bigint | undefined> {
  return (await getCreditAccount(ctx.db, ctx.orgId))?.available;
}

/** What a held call's waiting caller does while its tool runs: tell the client of progress, and cancel the task when the client does. */
interface HeldCallWatch {
  /** the call's task was accepted (its price reserved): progress starts, and a cancellation already asked for is applied */
  accepted(task: TaskView): void;
  stop(): void;
}

/**
 * Watches a held call for the client: a progress notification at acceptance, naming the task, and
 * every PROGRESS_EVERY_MS after, when it asked for progress; `canceled` aborting (the client's
 * notifications/cancelled) cancels the task, which releases its hold and stops its run.
 */
function watchHeldCall(ctx: CallerContext, canceled: AbortSignal, progress: SendProgress | undefined): HeldCallWatch {
  let taskId: string | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let sent = 0;
  const tell = (what: string) => void progress?.(++sent, `task ${taskId} ${what}`).catch(() => undefined);
  const cancel = () => {
    if (taskId === undefined) return;
    cancelTask({ ctx, input: { id: taskId } }).catch((error: unknown) => {
      // it ended before the cancellation reached it: settled as it ended, and nobody waits for the answer any more
      if (!(error instanceof TaskNotCancelable)) ctx.log.error({ err: error, task: taskId }, 'mcp cancellation failed');
    });
  };
  canceled.addEventListener('abort', cancel, { once: true });
  return {
    accepted(task) {
      if (taskId !== undefined) return;
      taskId = task.id;
      if (canceled.aborted) return cancel();
      if (!progress) return;
      const started = Date.now();
      tell('accepted: working');
      ticker = setInterval(() => tell(`working, ${Math.round((Date.now() - started) / 1000)} s`), PROGRESS_EVERY_MS);
    },
    stop() {
      clearInterval(ticker);
      canceled.removeEventListener('abort', cancel);
    },
  };
}

/**
 * A call still running that this request did not start: the same idempotency key sent again while
 * its first call runs. Its task is followed in the database (it may run on another instance) until
 * it ends, watched as a call of this request's own.
 */
function followRunning(ctx: CallerContext, running: TaskView, watch: HeldCallWatch): Promise<TaskView> {
  watch.accepted(running);
  return taskWhenEnded(ctx, running);
}

/**
 * A tools/call through the same paid path as an A2A tool call (tasks/service.ts): charged only for
 * an answer, once per idempotency key, within the balance and spend caps. Answers the tool result,
 * or 'canceled' when the client's cancellation canceled the call's task, which is then left unanswered where the transport can.
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
  const watch = watchHeldCall(ctx, canceled, progress);
  try {
    let view: TaskView;
    try {
      view = await sendMessage({ ctx, input: { message: toolCallMessage(call), historyLength: 0, onAccepted: watch.accepted } });
    } catch (error) {
      if (!isDomainError(error)) throw error;
      if (NO_SUCH_TOOL.has(error.reason)) throw noSuchTool(error);
      return refusalResult(error);
    }
    // an idempotency key names one call: sent again for another tool, it is the caller's mistake, not that call's answer
    if (view.metadata.tool !== undefined && view.metadata.tool !== call.name) return reusedKeyResult(view.metadata.tool, call.name);
    const ended = endsStream(view.state) ? view : await followRunning(ctx, view, watch);
    // canceled at the client's word: MCP asks that it not be answered (a call that ended first is answered as it ended)
    if (canceled.aborted && ended.state === 'canceled') return 'canceled';
    return ended.state === 'completed' ? answeredResult(ended, await availableAfter(ctx)) : unansweredResult(ended);
  } finally {
    watch.stop();
  }
}
