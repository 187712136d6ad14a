import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { a2aMethods } from '../../../src/a2a/methods.js';
import { MAX_RPC_ID_LENGTH } from '../../../src/rpc/envelope.js';

/**
 * The generators of the POST /a2a fuzz suites: JSON-RPC bodies written from templates that may hold
 * raw JSON tokens (numbers JSON.stringify cannot write, escapes, deep nesting), with A2A params of
 * both generations in which every field is sometimes of the wrong type or missing.
 */

/** Demo agents seeded for the fuzz suites: ids 1..AGENTS exist. */
export const AGENTS = 20;

const ENABLED_TOOLS = ['getMyFeedbacks', 'getAgentProfile', 'getReputationSummary', 'getTrend', 'getValidationHistory'];

/** task ids seen in answers, so later bodies can refer to real tasks (follow-ups, GetTask, CancelTask) */
export const seenTaskIds: string[] = [];

/** A member left out of its object or array. */
export const OMIT = Symbol('omit');
/** Text put into the body as is: numbers JSON.stringify cannot write, escapes, deep nesting. */
export class Raw {
  constructor(readonly text: string) {}
}
/** Resolved when the body is written: the n-th task id seen so far (or a fresh uuid). */
class TaskRef {
  constructor(readonly n: number) {}
}

/** Resolved when the body is written: a uuid never sent before (fc.uuid() repeats its favourite values). */
export class FreshUuid {}

function taskIdFor(ref: TaskRef): string {
  return seenTaskIds.length === 0 ? randomUUID() : (seenTaskIds[ref.n % seenTaskIds.length] as string);
}

export function serialize(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof TaskRef) return JSON.stringify(taskIdFor(value));
  if (value instanceof FreshUuid) return JSON.stringify(randomUUID());
  if (Array.isArray(value)) {
    return `[${value
      .filter((item) => item !== OMIT)
      .map(serialize)
      .join(',')}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const members = Object.entries(value).filter(([, item]) => item !== OMIT);
    return `{${members.map(([key, item]) => `${JSON.stringify(key)}:${serialize(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export const deep = (levels: number, open: string, leaf: string, close: string) =>
  new Raw(open.repeat(levels) + leaf + close.repeat(levels));

export const rawNumber = fc
  .constantFrom(
    '1e308',
    '-1e308',
    '1e400',
    '-1e400',
    '18446744073709551616',
    '-1',
    '-0',
    '1E+2',
    '0.0000001',
    '9007199254740993',
    '123456789012345678901234567890',
    '-9223372036854775809',
    '9223372036854775807',
    '1e-400',
    '2e0',
  )
  .map((text) => new Raw(text));

/** Strings as raw JSON escapes: lone surrogates, NUL, a valid pair, noncharacters. */
export const rawString = fc
  .constantFrom(
    '"\\ud800"',
    '"\\udfff"',
    '"x\\ud800y"',
    '"\\udc00\\ud800"',
    '"\\ud800\\ud800"',
    '"\\u0000"',
    '"a\\u0000b"',
    '"\\ud83d\\ude00"',
    '"\\uffff"',
    '"\\ufeff1"',
    '"\\/\\b\\f\\n\\r\\t"',
  )
  .map((text) => new Raw(text));

export const deepRaw = fc.oneof(
  fc.constantFrom(5000, 5000, 100, 4100, 20000).map((n) => deep(n, '[', '', ']')),
  fc.constantFrom(5000, 300).map((n) => deep(n, '{"a":', '1', '}')),
  fc.constant(deep(2500, '[{"x":', 'null', '}]')),
);

/** long, but leaving the body under the 100 KB limit (the raw-bodies property goes over it) */
const longString = fc.constantFrom(1_000, 5_000, 30_000).map((n) => 'x'.repeat(n));
export const overLongString = fc.constantFrom(60_000, 99_000, 102_400, 120_000).map((n) => 'x'.repeat(n));

const weirdString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\u0000',
      'a\u0000b',
      '\ud800',
      '\udfff',
      'a\ud800b',
      '\udc00\ud800',
      '\ud83d\ude00',
      '\u202e',
      '\ufeff',
      'null',
      'NaN',
      'Infinity',
      '-1',
      '1e308',
      '__proto__',
      'constructor',
      'toString',
      "'; drop table tasks; --",
      '%s%n${x}',
    ),
  },
  { weight: 1, arbitrary: longString },
);

export const anyJson = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' });

/** A value of the wrong type (or shape) for whatever field it lands in. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -1e308, '', [], {}, [null], { a: 1 }) },
  { weight: 3, arbitrary: weirdString },
  { weight: 3, arbitrary: anyJson },
  { weight: 2, arbitrary: rawNumber },
  { weight: 2, arbitrary: rawString },
  { weight: 1, arbitrary: deepRaw },
);

/** A field: usually valid, sometimes wrong, sometimes missing. */
function field<T>(valid: fc.Arbitrary<T>, weights = { valid: 10, wrong: 1, omit: 1 }): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: weights.valid, arbitrary: valid },
    { weight: weights.wrong, arbitrary: wrongValue },
    { weight: weights.omit, arbitrary: fc.constant(OMIT) },
  );
}

/** An optional field: usually absent. */
function optional<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return field(valid, { valid: 2, wrong: 1, omit: 12 });
}

const agentId = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: AGENTS }) },
  { weight: 2, arbitrary: fc.integer({ min: AGENTS + 1, max: 1_000_000 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(-1, 0, -0, 1.5, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, 1e308, -1e308, 2 ** 64, 2 ** 63),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '1',
      '20',
      '0000000000000000001',
      '00000000000000000001',
      '9223372036854775807',
      '9223372036854775808',
      '18446744073709551616',
      '-1',
      'NaN',
      'Infinity',
      '1e3',
      '0x10',
      ' 1',
      '1 ',
      '١',
      '',
    ),
  },
  { weight: 2, arbitrary: rawNumber },
  { weight: 1, arbitrary: rawString },
  { weight: 1, arbitrary: wrongValue },
);

const toolName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...ENABLED_TOOLS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('getReputationReport', 'GETAGENTPROFILE', 'getAgentProfile ', '', 'constructor', '__proto__'),
  },
  { weight: 1, arbitrary: weirdString },
);

const toolArguments = fc
  .record(
    {
      agentId,
      limit: optional(fc.oneof(fc.integer({ min: -5, max: 600 }), fc.constantFrom(0, 1, 500, 501, 1.5))),
      offset: optional(fc.oneof(fc.integer({ min: -5, max: 2_000_000 }), fc.constant(1_000_000))),
      includeRevoked: optional(fc.boolean()),
      period: optional(fc.oneof(fc.constantFrom('1d', '7d', '30d', '365d', '366d', '0d', '-1d', '30', 'd', '1e2d'), weirdString)),
      unexpected: optional(anyJson),
    },
    { requiredKeys: ['agentId'] },
  )
  .map((args) => Object.fromEntries(Object.entries(args).filter(([, value]) => value !== OMIT)));

export const toolCallData = fc.record({
  tool: field(toolName, { valid: 10, wrong: 1, omit: 1 }),
  arguments: field(toolArguments, { valid: 10, wrong: 1, omit: 1 }),
});

/** Mostly fresh; sometimes one fc.uuid() is likely to repeat, so replays of earlier tasks get fuzzed too. */
const messageId = fc.oneof(
  { weight: 8, arbitrary: fc.constant(new FreshUuid()) },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: weirdString },
);
const taskRef = fc.oneof(
  { weight: 3, arbitrary: fc.nat().map((n) => new TaskRef(n)) },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: weirdString },
);
const metadata = fc.oneof(fc.dictionary(weirdString, anyJson, { maxKeys: 3 }), fc.record({ a: deepRaw }));

const v1Part = fc.oneof(
  { weight: 12, arbitrary: fc.record({ data: toolCallData, metadata: optional(metadata) }) },
  { weight: 2, arbitrary: fc.record({ text: field(weirdString), metadata: optional(metadata) }) },
  { weight: 1, arbitrary: fc.record({ url: field(weirdString), mediaType: optional(weirdString), filename: optional(weirdString) }) },
  { weight: 1, arbitrary: fc.record({ raw: field(weirdString) }) },
  { weight: 1, arbitrary: fc.record({ text: weirdString, data: toolCallData }) },
  { weight: 1, arbitrary: fc.record({ data: fc.oneof(anyJson, deepRaw) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('data', 'text', 'file', 'nope'), data: toolCallData }) },
  { weight: 1, arbitrary: wrongValue },
);

const v03Part = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('data'), data: toolCallData, metadata: optional(metadata) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('text'), text: field(weirdString) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('file'),
      file: fc.oneof(fc.record({ uri: weirdString }), fc.record({ bytes: weirdString }), wrongValue),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: field(fc.constantFrom('data', 'text', 'file', 'Data', '')), data: anyJson }) },
  { weight: 1, arbitrary: wrongValue },
);

function partsOf(part: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.array(part, { minLength: 1, maxLength: 2 }) },
    { weight: 1, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.array(part, { minLength: 33, maxLength: 34 }) },
  );
}

const v1Message = fc.record({
  messageId: field(messageId),
  role: field(fc.constantFrom('ROLE_USER', 'ROLE_USER', 'ROLE_USER', 1, 'ROLE_AGENT', 2, 'user', 'ROLE_UNSPECIFIED', 0)),
  parts: field(partsOf(v1Part)),
  contextId: optional(fc.oneof(fc.uuid(), weirdString)),
  taskId: optional(taskRef),
  metadata: optional(metadata),
  extensions: optional(fc.array(weirdString, { maxLength: 2 })),
  referenceTaskIds: optional(fc.array(taskRef, { maxLength: 2 })),
});

const v03Message = fc.record({
  kind: field(fc.constantFrom('message', 'message', 'task', 'Message')),
  messageId: field(messageId),
  role: field(fc.constantFrom('user', 'user', 'user', 'agent', 'ROLE_USER', 'User')),
  parts: field(partsOf(v03Part)),
  contextId: optional(fc.oneof(fc.uuid(), weirdString)),
  taskId: optional(taskRef),
  metadata: optional(metadata),
});

const historyLength = fc.oneof(fc.integer({ min: -2, max: 1001 }), fc.constantFrom(0, 1, 1000));

export const v1SendParams = fc.record({
  tenant: optional(weirdString),
  message: field(v1Message, { valid: 10, wrong: 1, omit: 1 }),
  configuration: optional(
    fc.record({
      historyLength: optional(historyLength),
      acceptedOutputModes: optional(fc.array(weirdString, { maxLength: 2 })),
      returnImmediately: optional(fc.boolean()),
    }),
  ),
  metadata: optional(metadata),
});

export const v03SendParams = fc.record({
  message: field(v03Message, { valid: 10, wrong: 1, omit: 1 }),
  configuration: optional(fc.record({ historyLength: optional(historyLength), blocking: optional(fc.boolean()) })),
  metadata: optional(metadata),
});

const taskIdParams = fc.record({
  id: field(taskRef),
  historyLength: optional(historyLength),
  metadata: optional(metadata),
  tenant: optional(weirdString),
});

const listTasksParams = fc.record({
  contextId: optional(fc.oneof(fc.uuid(), weirdString)),
  status: optional(fc.constantFrom('TASK_STATE_COMPLETED', 'TASK_STATE_WORKING', 'completed', 'TASK_STATE_NOPE')),
  pageSize: optional(fc.integer({ min: -1, max: 101 })),
  pageToken: optional(fc.oneof(weirdString, fc.base64String({ maxLength: 80 }))),
  historyLength: optional(historyLength),
  statusTimestampAfter: optional(
    fc.constantFrom('2020-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', 'yesterday'),
  ),
  includeArtifacts: optional(fc.boolean()),
});

/** A method and params that fit it, most of the time. */
const methodCall = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ method: fc.constant('SendMessage'), params: field(v1SendParams, { valid: 12, wrong: 1, omit: 1 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ method: fc.constant('message/send'), params: field(v03SendParams, { valid: 12, wrong: 1, omit: 1 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ method: fc.constantFrom('GetTask', 'CancelTask', 'tasks/get', 'tasks/cancel'), params: field(taskIdParams) }),
  },
  { weight: 1, arbitrary: fc.record({ method: fc.constant('ListTasks'), params: field(listTasksParams) }) },
  { weight: 1, arbitrary: fc.record({ method: fc.constantFrom(...Object.keys(a2aMethods)), params: field(anyJson) }) },
);

export const validId = fc.oneof(
  { weight: 4, arbitrary: fc.integer() },
  { weight: 4, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 2 ** 64, Number.MAX_SAFE_INTEGER + 2, 1e308) },
  { weight: 1, arbitrary: rawString },
);
const badId = fc.oneof(
  fc.constantFrom(true, false, [], {}, [1], { id: 1 }),
  fc.constantFrom(new Raw('1e400'), new Raw('-1e400')),
  fc.string({ minLength: MAX_RPC_ID_LENGTH + 1, maxLength: MAX_RPC_ID_LENGTH + 50 }),
);
const rpcId = fc.oneof({ weight: 8, arbitrary: validId }, { weight: 1, arbitrary: badId }, { weight: 2, arbitrary: fc.constant(OMIT) });

const jsonrpcVersion = fc.oneof(
  { weight: 12, arbitrary: fc.constant('2.0') },
  { weight: 1, arbitrary: fc.constantFrom('2', '1.0', 2, '2.0 ', null, true, OMIT, ['2.0'], {}, '\ufeff2.0') },
);

const methodName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...Object.keys(a2aMethods)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('', 'sendMessage', 'message/Send', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'rpc.discover'),
  },
  { weight: 1, arbitrary: weirdString },
);

/** A JSON-RPC request, each envelope member sometimes of the wrong type or missing. */
export const request = fc
  .record({
    jsonrpc: jsonrpcVersion,
    id: rpcId,
    call: fc.oneof(
      { weight: 6, arbitrary: methodCall },
      {
        weight: 2,
        arbitrary: fc.record({
          method: fc.oneof(
            { weight: 4, arbitrary: methodName },
            { weight: 1, arbitrary: wrongValue },
            { weight: 1, arbitrary: fc.constant(OMIT) },
          ),
          params: fc.oneof(anyJson, wrongValue, fc.constant(OMIT)),
        }),
      },
    ),
    extra: fc.option(fc.dictionary(fc.constantFrom('result', 'error', 'params2', 'ID', 'jsonRPC'), anyJson, { maxKeys: 2 }), {
      freq: 6,
    }),
  })
  .map(({ jsonrpc, id, call, extra }) => ({ ...(extra ?? {}), jsonrpc, id, method: call.method, params: call.params }));

/** A paid call that should go through (for the rich organization). */
export const validPaidCall = fc
  .record({
    id: fc.oneof(fc.integer(), fc.uuid()),
    tool: fc.constantFrom(...ENABLED_TOOLS),
    agentId: fc.integer({ min: 1, max: AGENTS }),
    v03: fc.boolean(),
  })
  .map(({ id, tool, agentId: agent, v03 }) => {
    const messageIdValue = randomUUID();
    return v03
      ? {
          jsonrpc: '2.0',
          id,
          method: 'message/send',
          params: {
            message: {
              kind: 'message',
              messageId: messageIdValue,
              role: 'user',
              parts: [{ kind: 'data', data: { tool, arguments: { agentId: agent } } }],
            },
          },
        }
      : {
          jsonrpc: '2.0',
          id,
          method: 'SendMessage',
          params: {
            message: { messageId: messageIdValue, role: 'ROLE_USER', parts: [{ data: { tool, arguments: { agentId: agent } } }] },
          },
        };
  });

const notification = fc.oneof(
  validPaidCall.map((call) => ({ ...call, id: OMIT })),
  request.map((body) => ({ ...body, id: OMIT })),
);

export const batchElement = fc.oneof(
  { weight: 3, arbitrary: validPaidCall },
  { weight: 4, arbitrary: request },
  { weight: 2, arbitrary: notification },
  { weight: 1, arbitrary: anyJson },
  { weight: 1, arbitrary: wrongValue },
);

export type Auth = { kind: 'rich' | 'poor' | 'none' | 'bogus' | 'basic' | 'empty' };
export const auth: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 30, arbitrary: fc.constant<Auth>({ kind: 'rich' }) },
  { weight: 2, arbitrary: fc.constant<Auth>({ kind: 'poor' }) },
  { weight: 1, arbitrary: fc.constantFrom<Auth>({ kind: 'none' }, { kind: 'bogus' }, { kind: 'basic' }, { kind: 'empty' }) },
);

export const a2aVersionHeader = fc.option(fc.constantFrom('1.0', '0.3', '0.3.0', '2.0', 'x', ''), { freq: 8 });
