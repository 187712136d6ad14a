import { JsonText } from '../domain/json-text.js';
import type { Message, TaskView } from '../domain/task-model.js';
import { displayUsdc } from '../tools/money.js';
import type { TaskRow } from './store.js';

function statusMessage(row: TaskRow): Message | undefined {
  if (row.state === 'input-required') {
    return row.history.findLast((message) => message.role === 'agent');
  }
  if (row.error) {
    return {
      messageId: `${row.id}-status`,
      role: 'agent',
      taskId: row.id,
      contextId: row.context_id,
      parts: [
        { kind: 'text', text: row.error.message },
        { kind: 'data', data: { error: row.error } },
      ],
    };
  }
  return undefined;
}

/** What a caller sees of a task, whichever wire version it speaks. */
export function toTaskView(row: TaskRow, options: { historyLength?: number } = {}): TaskView {
  const history =
    options.historyLength === undefined ? row.history : options.historyLength === 0 ? [] : row.history.slice(-options.historyLength);
  const message = statusMessage(row);
  return {
    id: row.id,
    contextId: row.context_id,
    state: row.state,
    timestamp: row.updated_at,
    ...(message ? { statusMessage: message } : {}),
    artifacts:
      row.state === 'completed' && row.result && row.tool
        ? [{ artifactId: `${row.id}-result`, name: row.tool, parts: [{ kind: 'data', data: row.result }] }]
        : [],
    history,
    metadata: {
      ...(row.tool ? { tool: row.tool } : {}),
      ...(row.tool_version ? { tool_version: row.tool_version } : {}),
      ...(row.deprecation_note ? { deprecation: row.deprecation_note } : {}),
      cost_micro_usdc: row.cost.toString(),
      cost_display: displayUsdc(row.cost),
      charged: row.state === 'completed' && row.cost > 0n,
      ...(row.duration_ms === null ? {} : { duration_ms: row.duration_ms }),
    },
  };
}

/** A completed task's answer, as JSON text (a tool's own text kept as written) and as an object, for the surfaces that hand it on whole (MCP, plain HTTP). */
export function taskAnswer(view: TaskView): { text: string; object: Record<string, unknown> } {
  const data = view.artifacts[0]?.parts.find((part) => part.kind === 'data')?.data;
  if (data instanceof JsonText) return { text: data.text, object: JSON.parse(data.text) as Record<string, unknown> };
  const object = (data ?? {}) as Record<string, unknown>;
  return { text: JSON.stringify(object), object };
}

/** Why a task ended without an answer, as its status message tells it; undefined when none is told (a cancellation). */
export function taskFailure(view: TaskView): { reason: string; message: string; details?: Record<string, unknown> } | undefined {
  const data = view.statusMessage?.parts.find((part) => part.kind === 'data')?.data as
    | { error?: { reason: string; message: string; details?: Record<string, unknown> } }
    | undefined;
  return data?.error;
}
