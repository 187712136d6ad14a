import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { AnyDomainError } from '../domain/errors.js';
import type { TaskView } from '../domain/task-model.js';
import { taskAnswer, taskFailure } from '../tasks/view.js';
import { displayUsdc } from '../tools/money.js';

/** What a tool call's result tells besides the tool's answer: which task it is in the billing API, and what it cost. */
function taskMeta(view: TaskView) {
  const { metadata } = view;
  return {
    taskId: view.id,
    state: view.state,
    ...(metadata.tool === undefined ? {} : { tool: metadata.tool }),
    ...(metadata.tool_version === undefined ? {} : { toolVersion: metadata.tool_version }),
    ...(metadata.deprecation === undefined ? {} : { deprecation: metadata.deprecation }),
    charged: metadata.charged,
    costMicroUsdc: metadata.charged ? metadata.cost_micro_usdc : '0',
  };
}

/**
 * A completed call: the answer as `structuredContent` and, for clients that read only text, as its
 * JSON text; `_meta` names the task, the price charged and the balance left after it.
 */
export function answeredResult(view: TaskView, availableMicroUsdc: bigint | undefined): CallToolResult {
  const answer = taskAnswer(view);
  const meta = taskMeta(view);
  return {
    content: [{ type: 'text', text: answer.text }],
    structuredContent: answer.object,
    _meta: {
      ...meta,
      costUsdc: displayUsdc(BigInt(meta.costMicroUsdc)),
      ...(availableMicroUsdc === undefined ? {} : { balanceMicroUsdc: availableMicroUsdc.toString() }),
    },
  };
}

const FREE = 'Nothing was charged.';

/** A task that ended without an answer (the tool failed, timed out, or the task was canceled): free, and why. */
export function unansweredResult(view: TaskView): CallToolResult {
  const error = taskFailure(view);
  const reason = error?.reason ?? (view.state === 'canceled' ? 'canceled' : 'tool_failed');
  const message = error?.message ?? `the task ended ${view.state}`;
  return {
    isError: true,
    content: [{ type: 'text', text: `${reason}: ${message}${message.includes('nothing was charged') ? '' : `. ${FREE}`}` }],
    _meta: { ...taskMeta(view), reason, ...(error?.details ? { details: error.details } : {}) },
  };
}

/** The facts of a refusal a model needs to act on it, said in a sentence. */
function explain(error: AnyDomainError): string {
  switch (error.kind) {
    case 'credit_refused':
      return error.available === null
        ? 'this organization has no credit account yet: top it up first'
        : `this call costs ${displayUsdc(error.required)} (${error.required} micro-USDC) and ${displayUsdc(error.available)} (${error.available} micro-USDC) is available`;
    case 'spend_cap_exceeded': {
      const d = error.details;
      return `cap ${d.cap} micro-USDC, ${d.spent} spent and ${d.reserved} held this ${d.period}, this call needs ${d.required}; it resets at ${d.resetsAt}`;
    }
    case 'tool_not_allowed':
      return `this key may call: ${error.details.allowedTools.join(', ') || 'no tool'}${error.details.maxTier === undefined ? '' : ` (tiers up to ${error.details.maxTier})`}`;
    case 'invalid_input': {
      const issues = error.details.issues;
      return Array.isArray(issues) ? issues.map((issue) => (typeof issue === 'string' ? issue : JSON.stringify(issue))).join('; ') : '';
    }
    default:
      return '';
  }
}

/**
 * A call refused before its tool ran or anything was charged (credit, a spend cap, the key's
 * scope, bad arguments, an unknown agent, the rate limit): a tool result with `isError`, so the
 * model reads why and may correct itself, with the stable reason and its facts in `_meta`.
 */
export function refusalResult(error: AnyDomainError): CallToolResult {
  const facts = explain(error);
  return {
    isError: true,
    content: [{ type: 'text', text: `${error.reason}: ${error.message}${facts ? ` (${facts})` : ''}. ${FREE}` }],
    _meta: { reason: error.reason, details: error.details, charged: false, costMicroUsdc: '0' },
  };
}

/** An idempotency key already used for a call of another tool: that call's answer is not this one's. */
export function reusedKeyResult(usedFor: string, asked: string): CallToolResult {
  return {
    isError: true,
    content: [
      {
        type: 'text',
        text: `idempotency_key_reused: this idempotency key was already used for a call of ${usedFor}; send a new key for a call of ${asked}. ${FREE}`,
      },
    ],
    _meta: { reason: 'idempotency_key_reused', details: { usedFor, asked }, charged: false, costMicroUsdc: '0' },
  };
}
