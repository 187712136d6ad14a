import { z } from 'zod';
import { RpcCode, type RpcErrorCode } from '../rpc/errors.js';
import { A2A_ERROR_REASONS } from './errors.js';
import { type A2AMethodName, a2aMethodParams, streamingMethods, x402Methods } from './methods.js';

/** One method as the API reference prints it: what it does with what it takes, and what it answers. */
export interface MethodDoc {
  readonly does: string;
  readonly answers: string;
}

/**
 * What each A2A method does and answers, in a line. Keyed by the method tables' names, so a method
 * added to methods.ts without a line here does not compile (and test/http/reference-page.test.ts
 * checks the page lists every method /a2a answers). The params come from the methods' own schemas.
 */
export const A2A_METHOD_DOCS: Readonly<Record<A2AMethodName, MethodDoc>> = {
  SendMessage: {
    does: 'Sends a message; a data part {tool, arguments} calls that tool, charged only when it answers.',
    answers: '{task}: the Task, its artifact the tool’s result (with configuration.returnImmediately, possibly still working)',
  },
  GetTask: { does: 'Reads one of your organization’s tasks (historyLength trims its history).', answers: 'the Task' },
  ListTasks: {
    does: 'Lists your tasks, newest first, by contextId, status and statusTimestampAfter, a page at a time.',
    answers: '{tasks, nextPageToken, pageSize, totalSize}',
  },
  CancelTask: { does: 'Cancels a task that is still running; a held price is released.', answers: 'the Task, canceled' },
  SendStreamingMessage: {
    does: 'SendMessage, followed as it runs.',
    answers: 'Server-Sent Events: the task, each status update, the artifact, the final status',
  },
  SubscribeToTask: {
    does: 'Re-attaches to a task still running, from any instance (a finished one: -32004 task_finished).',
    answers: 'Server-Sent Events, as SendStreamingMessage',
  },
  CreateTaskPushNotificationConfig: {
    does: 'Registers a webhook that receives the task at each change of state.',
    answers: 'the push config (its token and credentials never shown)',
  },
  GetTaskPushNotificationConfig: { does: 'Reads one webhook of a task.', answers: 'the push config' },
  ListTaskPushNotificationConfigs: { does: 'Lists the webhooks of a task.', answers: '{configs, nextPageToken}' },
  DeleteTaskPushNotificationConfig: { does: 'Removes a webhook of a task.', answers: '{}' },
  GetExtendedAgentCard: { does: 'The authenticated extended agent card.', answers: 'none is configured: -32007' },
  'message/send': {
    does: 'Sends a message; a data part {tool, arguments} calls that tool, charged only when it answers.',
    answers: 'the Task (configuration.blocking: false may answer it still working)',
  },
  'tasks/get': { does: 'Reads one of your organization’s tasks (historyLength trims its history).', answers: 'the Task' },
  'tasks/cancel': { does: 'Cancels a task that is still running; a held price is released.', answers: 'the Task, canceled' },
  'message/stream': {
    does: 'message/send, followed as it runs.',
    answers: 'Server-Sent Events: the task, each status update, the artifact, a last status-update with final: true',
  },
  'tasks/resubscribe': {
    does: 'Re-attaches to a task still running, from any instance (a finished one: -32004 task_finished).',
    answers: 'Server-Sent Events, as message/stream',
  },
  'tasks/pushNotificationConfig/set': {
    does: 'Registers a webhook that receives the task at each change of state.',
    answers: 'the push config (its token and credentials never shown)',
  },
  'tasks/pushNotificationConfig/get': { does: 'Reads one webhook of a task.', answers: 'the push config' },
  'tasks/pushNotificationConfig/list': { does: 'Lists the webhooks of a task.', answers: 'an array of push configs' },
  'tasks/pushNotificationConfig/delete': { does: 'Removes a webhook of a task.', answers: 'null' },
  'agent/getAuthenticatedExtendedCard': { does: 'The authenticated extended agent card.', answers: 'none is configured: -32007' },
};

/** When each JSON-RPC error code is answered (README "Errors" has the details). */
export const A2A_ERROR_DOCS: Readonly<Record<RpcErrorCode, string>> = {
  [RpcCode.ParseError]: 'the body is not JSON',
  [RpcCode.InvalidRequest]: 'not a JSON-RPC 2.0 request, a call without an id, a bad batch; a body over 100 KB is HTTP 413',
  [RpcCode.MethodNotFound]: 'no such method',
  [RpcCode.InvalidParams]:
    'bad params, a field past its limit, a bad webhook; an unknown or disabled tool, arguments failing its schema, an unknown agent (data.reason says which)',
  [RpcCode.InternalError]: 'an internal error, logged under data.requestId',
  [RpcCode.Unauthorized]: 'no API key or an unknown one (missing_api_key, invalid_api_key): HTTP 401 with WWW-Authenticate',
  [RpcCode.TaskNotFound]: 'no such task in your organization',
  [RpcCode.TaskNotCancelable]: 'the task has already ended',
  [RpcCode.PushNotificationNotSupported]: 'push notifications are not offered',
  [RpcCode.CreditsOrUnsupported]:
    'refused by the money or the key’s policy (insufficient_credits, no_credit_account, spend_cap_exceeded, tool_not_allowed), rate_limited (HTTP 429 with Retry-After), or an operation not offered (task_finished, …)',
  [RpcCode.ExtendedCardNotConfigured]: 'no authenticated extended agent card',
  [RpcCode.VersionNotSupported]: 'the A2A-Version header names a version other than 0.3 or 1.0',
  [RpcCode.Unavailable]:
    'the database cannot be reached or is restarting (database_unavailable): HTTP 503 with Retry-After; retry, a paid call with the same messageId, which is charged once',
};

/** A method's params as a line of fields: `message, configuration?, metadata?`. */
function paramFields(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, unknown>;
    required?: string[];
  };
  const required = new Set(json.required ?? []);
  const fields = Object.keys(json.properties ?? {}).map((name) => (required.has(name) ? name : `${name}?`));
  return fields.length ? fields.join(', ') : 'none';
}

export interface A2AMethodReference extends MethodDoc {
  readonly name: string;
  readonly params: string;
  readonly streaming: boolean;
  /** callable without an API key, paid per call with the a2a-x402 extension */
  readonly x402: boolean;
}

export interface A2AReference {
  readonly generations: readonly { readonly version: '1.0' | '0.3'; readonly methods: readonly A2AMethodReference[] }[];
  readonly errors: readonly { readonly code: number; readonly reason: string; readonly when: string }[];
}

/** Every method /a2a answers, by generation, and its error codes: what the API reference page prints. */
export function a2aReference(): A2AReference {
  const generation = (version: '1.0' | '0.3') => ({
    version,
    methods: Object.entries<z.ZodType>(a2aMethodParams[version]).map(([name, params]) => ({
      name,
      params: paramFields(params),
      ...A2A_METHOD_DOCS[name as A2AMethodName],
      streaming: streamingMethods.has(name),
      x402: Object.hasOwn(x402Methods, name),
    })),
  });
  return {
    generations: [generation('1.0'), generation('0.3')],
    errors: (Object.values(RpcCode) as RpcErrorCode[]).map((code) => ({
      code,
      reason: A2A_ERROR_REASONS[code].reason,
      when: A2A_ERROR_DOCS[code],
    })),
  };
}
