import { errorResponse, isRefusal, type RpcId, type RpcRequest, type RpcResponse, readRequest, resultResponse } from './envelope.js';
import { RpcError, type RpcErrorObject, rpcErrors } from './errors.js';
import { EventStreamResult, isStreamedAnswer, type StreamedAnswer } from './stream.js';

/**
 * One method: `parse` checks the params (and whatever else refuses a call before it runs) and
 * throws an RpcError; `run` does the work. Kept apart so a call that must not run (a notification
 * where none are taken) still gets the error its params earn.
 */
export interface RpcMethod<Context> {
  readonly parse: (params: unknown, context: Context) => unknown;
  readonly run: (input: unknown, context: Context) => Promise<unknown>;
}

/** A method whose `run` receives what its `parse` returned. */
export function rpcMethod<Context, Input>(
  parse: (params: unknown, context: Context) => Input,
  run: (input: Input, context: Context) => Promise<unknown>,
): RpcMethod<Context> {
  return { parse, run: (input, context) => run(input as Input, context) };
}

export interface Dispatcher<Context> {
  readonly methods: Readonly<Record<string, RpcMethod<Context>>>;
  /** the answer to anything else a method threw (a refusal of the domain, a failure); must not throw */
  readonly answerFor: (error: unknown, request: RpcRequest, context: Context) => RpcError;
  /** methods that answer with an EventStreamResult: refused inside a batch, before they run */
  readonly streamingMethods: ReadonlySet<string>;
  /** an error as it goes on the wire for this caller */
  readonly renderError: (error: RpcError, context: Context) => RpcErrorObject;
}

/** Each call in a batch is a paid call at most; a cap keeps one body from queueing unbounded work. */
export const MAX_BATCH_SIZE = 100;

/**
 * Runs a JSON-RPC 2.0 body: a single request or a batch, and returns what to send back. Every call
 * is answered: a request without an id (a JSON-RPC notification) is answered like one with
 * `id: null`, with the error its method and params earn, else -32600, and never runs. A2A has no
 * notifications, and a paid call must be answered.
 */
export async function handleRpcBody<Context>(
  body: string,
  dispatcher: Dispatcher<Context>,
  context: Context,
): Promise<RpcResponse | RpcResponse[] | StreamedAnswer> {
  const fail = (id: RpcId, error: RpcError) => errorResponse(id, dispatcher.renderError(error, context));
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    return fail(null, rpcErrors.parse(error instanceof Error ? error.message : 'invalid JSON'));
  }
  if (!Array.isArray(parsed)) {
    return handleOne(parsed, dispatcher, context, 'may stream');
  }
  if (parsed.length === 0) {
    return fail(null, rpcErrors.invalidRequest('a batch must hold at least one request'));
  }
  if (parsed.length > MAX_BATCH_SIZE) {
    return fail(null, rpcErrors.invalidRequest(`a batch holds at most ${MAX_BATCH_SIZE} requests, this one has ${parsed.length}`));
  }
  const answers = await Promise.all(parsed.map((element) => handleOne(element, dispatcher, context, 'no streams')));
  return answers.filter((answer): answer is RpcResponse => !isStreamedAnswer(answer));
}

async function handleOne<Context>(
  element: unknown,
  dispatcher: Dispatcher<Context>,
  context: Context,
  streams: 'may stream' | 'no streams',
): Promise<RpcResponse | StreamedAnswer> {
  const request = readRequest(element);
  if (isRefusal(request)) return errorResponse(request.id, dispatcher.renderError(request.error, context));
  return invoke(request, dispatcher, context, streams);
}

/** A stream whose only event is the error: how a streaming method is refused, so a client reading events sees why. */
function refusedStream(id: RpcId, error: RpcError): StreamedAnswer {
  return {
    kind: 'stream',
    id,
    events: {
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }),
    },
  };
}

async function invoke<Context>(
  request: RpcRequest,
  dispatcher: Dispatcher<Context>,
  context: Context,
  streams: 'may stream' | 'no streams',
): Promise<RpcResponse | StreamedAnswer> {
  const method = Object.hasOwn(dispatcher.methods, request.method) ? dispatcher.methods[request.method] : undefined;
  const fail = (error: RpcError) => errorResponse(request.id, dispatcher.renderError(error, context));
  if (!method) return fail(rpcErrors.methodNotFound(request.method));
  const streaming = dispatcher.streamingMethods.has(request.method);
  if (streaming && streams === 'no streams') {
    return fail(rpcErrors.invalidRequest(`${request.method} answers with a stream and cannot be part of a batch`));
  }
  const refuse = (error: RpcError) => (streaming ? refusedStream(request.id, error) : fail(error));
  try {
    const input = method.parse(request.params, context);
    if (request.isNotification) {
      return refuse(rpcErrors.invalidRequest(`${request.method} needs an id: this endpoint answers every call and takes no notifications`));
    }
    const result = await method.run(input, context);
    if (result instanceof EventStreamResult) return { kind: 'stream', id: request.id, events: result.events };
    return resultResponse(request.id, result);
  } catch (error) {
    return refuse(error instanceof RpcError ? error : dispatcher.answerFor(error, request, context));
  }
}
