import { z } from 'zod';
import { UnsupportedOperation } from '../domain/errors.js';
import { type Message, type TaskView, TERMINAL_STATES } from '../domain/task-model.js';
import {
  checkPushWithSend,
  listPush,
  type PushRequest,
  readPush,
  registerPush,
  registerPushOrRefuse,
  removePush,
} from '../push/register.js';
import { type RpcMethod, rpcMethod } from '../rpc/dispatch.js';
import { RpcCode, RpcError } from '../rpc/errors.js';
import { EventStreamResult } from '../rpc/stream.js';
import type { CallerContext } from '../tasks/context.js';
import { followTask } from '../tasks/follow.js';
import { cancelTask, getTask, listTasks, sendMessage } from '../tasks/service.js';
import { identifier } from './identifiers.js';
import { parseParams } from './issues.js';
import { type TaskEvent, taskEvents } from './task-events.js';
import {
  renderV1Event,
  renderV1PushConfig,
  renderV1Task,
  v1CancelTaskParams,
  v1GetTaskParams,
  v1ListPushConfigsParams,
  v1ListTasksParams,
  v1PushConfig,
  v1PushConfigRef,
  v1SendParams,
} from './v1.js';
import {
  renderV03Event,
  renderV03PushConfig,
  renderV03Task,
  v03DeletePushParams,
  v03PushRefParams,
  v03SendParams,
  v03SetPushParams,
  v03TaskIdParams,
} from './v03.js';
import { sendPayingWithX402, type X402SendContext } from './x402-flow.js';

export interface A2AContext extends CallerContext {
  /** the A2A-Version header, if the client sent one */
  readonly a2aVersion: string | undefined;
}

/** A call paid per call with x402 (a2a-x402 extension): no API key, so no organization until it pays. */
export interface X402A2AContext extends X402SendContext {
  readonly a2aVersion: string | undefined;
}

type Method = RpcMethod<A2AContext>;

/** A method not yet named (its name goes into its -32602 message), with the schema of its params (the API reference prints it). */
interface Unnamed<Ctx = A2AContext> {
  readonly params: z.ZodType;
  readonly named: (name: string) => RpcMethod<Ctx>;
}

/** A method whose params pass the A2A-Version check and `schema` before `run` gets them. */
function method<Schema extends z.ZodType, Ctx extends { readonly a2aVersion: string | undefined } = A2AContext>(
  schema: Schema,
  run: (input: z.output<Schema>, ctx: Ctx) => Promise<unknown>,
): Unnamed<Ctx> {
  return {
    params: schema,
    named: (name) =>
      rpcMethod((params: unknown, ctx: Ctx) => {
        checkVersion(ctx);
        return parseParams(schema, params, name);
      }, run),
  };
}

function named<Name extends string, Ctx = A2AContext>(methods: Record<Name, Unnamed<Ctx>>): Record<Name, RpcMethod<Ctx>> {
  return Object.fromEntries(Object.entries<Unnamed<Ctx>>(methods).map(([name, unnamed]) => [name, unnamed.named(name)])) as Record<
    Name,
    RpcMethod<Ctx>
  >;
}

/** Versions we speak, as major.minor (A2A-Version may carry a patch, which is ignored). */
const SUPPORTED_VERSIONS = new Set(['0.3', '1.0']);

function checkVersion(ctx: { readonly a2aVersion: string | undefined }): void {
  if (ctx.a2aVersion === undefined || ctx.a2aVersion === '') return;
  const majorMinor = /^(\d+)\.(\d+)/.exec(ctx.a2aVersion.trim());
  if (!majorMinor || !SUPPORTED_VERSIONS.has(`${majorMinor[1]}.${majorMinor[2]}`)) {
    throw new RpcError(RpcCode.VersionNotSupported, `A2A version ${ctx.a2aVersion} is not supported`, {
      requested: ctx.a2aVersion,
      supported: [...SUPPORTED_VERSIONS],
    });
  }
}

/** How often an open stream reads its task: any instance can stream a task run by any other. */
const STREAM_POLL_MS = 100;

/** A stream of the task's events from `first` on, each rendered in the caller's generation's shape. */
function taskStream(ctx: A2AContext, first: TaskView, render: (event: TaskEvent) => Record<string, unknown>): EventStreamResult {
  return new EventStreamResult(
    (async function* () {
      const hungUp = new AbortController();
      try {
        for await (const event of taskEvents(first, followTask(ctx, first.id, { pollMs: STREAM_POLL_MS, signal: hungUp.signal }))) {
          yield render(event);
        }
      } finally {
        hungUp.abort();
      }
    })(),
  );
}

/** Re-attaching is for tasks that can still change; a finished one is read with GetTask / tasks/get. */
async function subscribableTask(ctx: A2AContext, id: string): Promise<TaskView> {
  const task = await getTask({ ctx, input: { id } });
  if (TERMINAL_STATES.has(task.state)) {
    throw new UnsupportedOperation('task_finished', `Task ${id} is ${task.state}; read it with GetTask / tasks/get`, {
      taskId: id,
      state: task.state,
    });
  }
  return task;
}

/**
 * Sends the message; a webhook given with it is registered for the task it opened (or continued).
 * The webhook is checked first: once the send ran, its call may be charged, and a charged call is
 * answered with its task, never with an error.
 */
async function sendWithPush(
  ctx: A2AContext,
  input: {
    message: Message;
    historyLength: number | undefined;
    returnImmediately: boolean;
    push: Omit<PushRequest, 'taskId'> | undefined;
    protocol: '1.0' | '0.3';
  },
): Promise<TaskView> {
  const { push, protocol, ...send } = input;
  if (push) await checkPushWithSend(ctx, push, send.message.taskId);
  const task = await sendMessage({ ctx, input: send });
  if (push) await registerAfterSend(ctx, { taskId: task.id, ...push }, protocol);
  return task;
}

/**
 * The webhook of a send that ran. Its answer is the task whatever happens here, so what goes wrong
 * is logged, not thrown: only a concurrent registration can have taken the room checked before the
 * send, and a database failure must not turn a charged call into an error.
 */
async function registerAfterSend(ctx: A2AContext, request: PushRequest, protocol: '1.0' | '0.3'): Promise<void> {
  try {
    const registered = await registerPush(ctx, request, protocol);
    if ('limit' in registered)
      ctx.log.warn(
        { task: request.taskId, limit: registered.limit },
        'webhook given with a send not registered: its limit was reached meanwhile',
      );
  } catch (error) {
    ctx.log.error({ err: error, task: request.taskId }, 'webhook given with a send not registered');
  }
}

/** A2A 1.0 send params (SendMessage, SendStreamingMessage) as a send with its webhook. */
const sendV1 = (ctx: A2AContext, input: z.output<typeof v1SendParams>, returnImmediately: boolean) =>
  sendWithPush(ctx, {
    message: input.message,
    historyLength: input.configuration?.historyLength,
    returnImmediately,
    push: input.configuration?.taskPushNotificationConfig,
    protocol: '1.0',
  });

/** A2A 0.3 send params (message/send, message/stream) as a send with its webhook. */
const sendV03 = (ctx: A2AContext, input: z.output<typeof v03SendParams>, returnImmediately: boolean) =>
  sendWithPush(ctx, {
    message: input.message,
    historyLength: input.configuration?.historyLength,
    returnImmediately,
    push: input.configuration?.pushNotificationConfig,
    protocol: '0.3',
  });

const extendedCardUnsupported = method(z.unknown(), async () => {
  throw new RpcError(RpcCode.ExtendedCardNotConfigured, 'No authenticated extended agent card is configured', {
    reason: 'extended_card_not_configured',
  });
});

const v1CreatePushParams = v1PushConfig.extend({ taskId: identifier('taskId') });

/** A2A 1.0 method names (PascalCase, protobuf-JSON shapes). */
const v1Table = {
  SendMessage: method(v1SendParams, async (input, ctx) => ({
    task: renderV1Task(await sendV1(ctx, input, input.configuration?.returnImmediately === true)),
  })),
  GetTask: method(v1GetTaskParams, async (input, ctx) => renderV1Task(await getTask({ ctx, input }))),
  ListTasks: method(v1ListTasksParams, async (input, ctx) => {
    const page = await listTasks({
      ctx,
      input: {
        contextId: input.contextId,
        state: input.status,
        pageSize: input.pageSize,
        pageToken: input.pageToken,
        historyLength: input.historyLength,
        updatedAfter: input.statusTimestampAfter,
      },
    });
    return {
      tasks: page.tasks.map((task) => renderV1Task(task, { includeArtifacts: input.includeArtifacts === true })),
      nextPageToken: page.nextPageToken,
      pageSize: page.pageSize,
      totalSize: page.totalSize,
    };
  }),
  CancelTask: method(v1CancelTaskParams, async (input, ctx) => renderV1Task(await cancelTask({ ctx, input: { id: input.id } }))),
  SendStreamingMessage: method(v1SendParams, async (input, ctx) => taskStream(ctx, await sendV1(ctx, input, true), renderV1Event)),
  SubscribeToTask: method(v1GetTaskParams, async (input, ctx) => taskStream(ctx, await subscribableTask(ctx, input.id), renderV1Event)),
  CreateTaskPushNotificationConfig: method(v1CreatePushParams, async (input, ctx) =>
    renderV1PushConfig(await registerPushOrRefuse(ctx, input, '1.0')),
  ),
  GetTaskPushNotificationConfig: method(v1PushConfigRef, async (input, ctx) =>
    renderV1PushConfig(await readPush(ctx, input.taskId, input.id)),
  ),
  ListTaskPushNotificationConfigs: method(v1ListPushConfigsParams, async (input, ctx) => ({
    configs: (await listPush(ctx, input.taskId)).map(renderV1PushConfig),
    nextPageToken: '',
  })),
  DeleteTaskPushNotificationConfig: method(v1PushConfigRef, async (input, ctx) => {
    await removePush(ctx, input.taskId, input.id);
    return {};
  }),
  GetExtendedAgentCard: extendedCardUnsupported,
};

/** A2A 0.3 method names (slash-separated, `kind`-tagged shapes). */
const v03Table = {
  'message/send': method(v03SendParams, async (input, ctx) =>
    renderV03Task(await sendV03(ctx, input, input.configuration?.blocking === false)),
  ),
  'tasks/get': method(v03TaskIdParams, async (input, ctx) => renderV03Task(await getTask({ ctx, input }))),
  'tasks/cancel': method(v03TaskIdParams, async (input, ctx) => renderV03Task(await cancelTask({ ctx, input: { id: input.id } }))),
  'message/stream': method(v03SendParams, async (input, ctx) => taskStream(ctx, await sendV03(ctx, input, true), renderV03Event)),
  'tasks/resubscribe': method(v03TaskIdParams, async (input, ctx) =>
    taskStream(ctx, await subscribableTask(ctx, input.id), renderV03Event),
  ),
  'tasks/pushNotificationConfig/set': method(v03SetPushParams, async (input, ctx) =>
    renderV03PushConfig(await registerPushOrRefuse(ctx, { taskId: input.taskId, ...input.pushNotificationConfig }, '0.3')),
  ),
  'tasks/pushNotificationConfig/get': method(v03PushRefParams, async (input, ctx) =>
    renderV03PushConfig(await readPush(ctx, input.id, input.pushNotificationConfigId)),
  ),
  'tasks/pushNotificationConfig/list': method(v03PushRefParams, async (input, ctx) =>
    (await listPush(ctx, input.id)).map(renderV03PushConfig),
  ),
  'tasks/pushNotificationConfig/delete': method(v03DeletePushParams, async (input, ctx) => {
    await removePush(ctx, input.id, input.pushNotificationConfigId);
    return null;
  }),
  'agent/getAuthenticatedExtendedCard': extendedCardUnsupported,
};

/** The methods that answer with Server-Sent Events. */
export const streamingMethods: ReadonlySet<string> = new Set([
  'SendStreamingMessage',
  'SubscribeToTask',
  'message/stream',
  'tasks/resubscribe',
]);

/** A webhook is registered for an organization's task: a call paid per call has none until it pays. */
function noPushWithX402(push: unknown): void {
  if (push !== undefined) {
    throw new UnsupportedOperation(
      'push_needs_api_key',
      'a webhook given with a send needs an API key; a call paid with x402 is answered in the response',
    );
  }
}

/**
 * What a client that activated the a2a-x402 extension may send without an API key: a call, to be
 * offered for payment, and the messages that pay for or decline it (a2a/x402-flow.ts). Each is
 * answered with the task, in the caller's generation.
 */
export const x402Methods: Readonly<Record<string, RpcMethod<X402A2AContext>>> = named<'SendMessage' | 'message/send', X402A2AContext>({
  SendMessage: method(v1SendParams, async (input, ctx: X402A2AContext) => {
    noPushWithX402(input.configuration?.taskPushNotificationConfig);
    const view = await sendPayingWithX402(ctx, { message: input.message, historyLength: input.configuration?.historyLength });
    return { task: renderV1Task(view) };
  }),
  'message/send': method(v03SendParams, async (input, ctx: X402A2AContext) => {
    noPushWithX402(input.configuration?.pushNotificationConfig);
    return renderV03Task(await sendPayingWithX402(ctx, { message: input.message, historyLength: input.configuration?.historyLength }));
  }),
});

/** The JSON-RPC method names of each A2A generation. */
export type A2AV1MethodName = keyof typeof v1Table;
export type A2AV03MethodName = keyof typeof v03Table;
export type A2AMethodName = A2AV1MethodName | A2AV03MethodName;

/** Every JSON-RPC method the gateway answers, both protocol generations on one endpoint. */
export const a2aMethods: Readonly<Record<string, Method>> = { ...named(v1Table), ...named(v03Table) };

/** Each generation's methods with the schema of their params, in the order above: what the API reference documents. */
export const a2aMethodParams: {
  readonly '1.0': Readonly<Record<A2AV1MethodName, z.ZodType>>;
  readonly '0.3': Readonly<Record<A2AV03MethodName, z.ZodType>>;
} = {
  '1.0': paramsOf(v1Table),
  '0.3': paramsOf(v03Table),
};

function paramsOf<Name extends string>(table: Record<Name, Unnamed>): Record<Name, z.ZodType> {
  return Object.fromEntries(Object.entries<Unnamed>(table).map(([name, unnamed]) => [name, unnamed.params])) as Record<Name, z.ZodType>;
}
