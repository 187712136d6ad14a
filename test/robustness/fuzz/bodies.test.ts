/**
 * What arrives is not always a request: random JSON values (as the body, and as the params of every
 * method), random bytes, and raw bodies no serializer would write. Last, the gateway still serves a
 * paid call after all of it.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { a2aMethods } from '../../../src/a2a/methods.js';
import { MAX_BATCH_SIZE } from '../../../src/rpc/dispatch.js';
import { anyJson, auth, deep, deepRaw, overLongString, rawNumber, rawString, serialize, validId } from './arbitraries.js';
import { check, DATABASE_LABEL, PROPERTY_TIMEOUT_MS, runs, send, sendAndCheck, useFuzzGateway } from './harness.js';

const suite = useFuzzGateway('bodies');

describe(`fuzzing POST /a2a: bodies (${DATABASE_LABEL})`, () => {
  it(
    'random JSON values as the body, and as the params of every method',
    async () => {
      await fc.assert(
        fc.asyncProperty(anyJson, auth, async (value, choice) => {
          await sendAndCheck(JSON.stringify(value), choice);
        }),
        runs(400),
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...Object.keys(a2aMethods)), anyJson, validId, async (method, params, id) => {
          await sendAndCheck(serialize({ jsonrpc: '2.0', id, method, params }));
        }),
        runs(600),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'random bytes as the body',
    async () => {
      const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 2_000 }),
        fc.string({ unit: 'binary', maxLength: 200 }).map((text) => new TextEncoder().encode(text)),
        fc
          .uint8Array({ minLength: 1, maxLength: 64 })
          .map((tail) => Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"'), tail])),
      );
      await fc.assert(
        fc.asyncProperty(bytes, auth, async (body, choice) => {
          const exchange = await send(body, choice);
          check(new TextDecoder().decode(body), body.byteLength, choice, exchange);
        }),
        runs(400),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'raw bodies: 5,000-level nesting, lone surrogates and NUL as escapes, long strings, out-of-range numbers, odd whitespace',
    async () => {
      const rawBody = fc.oneof(
        deepRaw.map((raw) => raw.text),
        fc.constantFrom(5000, 20000).map((n) => `${'['.repeat(n)}{"jsonrpc":"2.0","id":1,"method":"GetTask"}${']'.repeat(n)}`),
        fc.constant(`{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":${deep(5000, '{"message":', '{}', '}').text}}`),
        fc
          .tuple(fc.constantFrom(...Object.keys(a2aMethods)), fc.oneof(rawString, rawNumber, deepRaw))
          .map(
            ([method, raw]) =>
              `{"jsonrpc":"2.0","id":${raw.text.length < 200 ? raw.text : '1'},"method":"${method}","params":{"id":${raw.text}}}`,
          ),
        fc
          .tuple(overLongString, fc.boolean())
          .map(
            ([text, asId]) =>
              `{"jsonrpc":"2.0","id":${asId ? JSON.stringify(text) : 1},"method":${asId ? '"GetTask"' : JSON.stringify(text)}}`,
          ),
        fc.constantFrom(
          '',
          ' ',
          'null',
          '[]',
          '[[]]',
          '{}',
          '""',
          '0',
          'true',
          '{"jsonrpc":"2.0","id":1,"method":"GetTask"',
          '{"jsonrpc":"2.0","id":1,"method":"GetTask"}}',
          '{"jsonrpc":"2.0","id":1,"method":"GetTask"} {"jsonrpc":"2.0","id":2,"method":"GetTask"}',
          '\ufeff{"jsonrpc":"2.0","id":1,"method":"GetTask"}',
          '{"jsonrpc":"2.0","id":1,"id":2,"method":"GetTask","method":"ListTasks"}',
          '{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"__proto__":{"id":"x"}}}',
          '{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{"__proto__":{"pageSize":5}}}',
          '{"jsonrpc":"2.0","id":NaN,"method":"GetTask"}',
          '{"jsonrpc":"2.0","id":Infinity,"method":"GetTask"}',
          "{'jsonrpc':'2.0','id':1,'method':'GetTask'}",
          '{"jsonrpc":"2.0","id":01,"method":"GetTask"}',
          '{"jsonrpc":"2.0","id":1,"method":"GetTask",}',
          '\t\n\r {"jsonrpc":"2.0","id":1,"method":"GetTask"}\n',
          `[${Array.from({ length: MAX_BATCH_SIZE + 1 }, () => '{"jsonrpc":"2.0","method":"GetTask"}').join(',')}]`,
          `[${Array.from({ length: MAX_BATCH_SIZE }, (_, i) => `{"jsonrpc":"2.0","id":${i},"method":"nope"}`).join(',')}]`,
        ),
      );
      await fc.assert(
        fc.asyncProperty(rawBody, async (body) => {
          await sendAndCheck(body);
        }),
        runs(300),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('the gateway still answers a valid paid call, and its health check, after all of it', async () => {
    const [answer] = await sendAndCheck(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 'final',
        method: 'SendMessage',
        params: {
          message: {
            messageId: randomUUID(),
            role: 'ROLE_USER',
            parts: [{ data: { tool: 'getAgentProfile', arguments: { agentId: 1 } } }],
          },
        },
      }),
    );
    expect(answer).toMatchObject({
      id: 'final',
      result: { task: { status: { state: 'TASK_STATE_COMPLETED' }, metadata: { charged: true, cost_micro_usdc: '1000' } } },
    });
    const health = await suite.gateway.app.request('/healthz');
    expect(health.status).toBe(200);
  });
});
