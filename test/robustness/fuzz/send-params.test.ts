/**
 * SendMessage and message/send params fuzzed field by field, down to the tool call alone, and the
 * input a database cannot store (a regression the fuzzing found).
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RpcCode } from '../../../src/rpc/errors.js';
import { moneyChecks } from '../../helpers/gateway.js';
import { auth, deep, FreshUuid, serialize, toolCallData, v1SendParams, v03SendParams, validId } from './arbitraries.js';
import { DATABASE_LABEL, PROPERTY_TIMEOUT_MS, runs, sendAndCheck, useFuzzGateway } from './harness.js';

const suite = useFuzzGateway('send-params');

describe(`fuzzing POST /a2a: SendMessage and message/send params (${DATABASE_LABEL})`, () => {
  it(
    'SendMessage and message/send params with wrong types in every field, odd numbers, unicode and deep nesting',
    async () => {
      // A well-formed message whose tool call alone is fuzzed reaches the tools' argument schemas and executors.
      const toolCallOnly = fc.tuple(fc.constant(new FreshUuid()), toolCallData, fc.boolean()).map(([id, data, v03]) =>
        v03
          ? {
              method: 'message/send',
              params: { message: { kind: 'message', messageId: id, role: 'user', parts: [{ kind: 'data', data }] } },
            }
          : { method: 'SendMessage', params: { message: { messageId: id, role: 'ROLE_USER', parts: [{ data }] } } },
      );
      const sendBody = fc.record({
        id: validId,
        call: fc.oneof(
          fc.record({ method: fc.constant('SendMessage'), params: v1SendParams }),
          fc.record({ method: fc.constant('message/send'), params: v03SendParams }),
          toolCallOnly,
        ),
      });
      await fc.assert(
        fc.asyncProperty(sendBody, auth, async ({ id, call }, choice) => {
          await sendAndCheck(serialize({ jsonrpc: '2.0', id, method: call.method, params: call.params }), choice);
        }),
        runs(1500),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  /**
   * Found by the fuzzing: PostgreSQL text and jsonb cannot hold U+0000 or an
   * unpaired surrogate, and JSON.stringify overflows the stack past ~4,100 levels, so such input
   * reaches the database (or the serializer) and comes back as -32603 "Internal error", logged at
   * error level with the failed SQL — for what is the client's mistake. It must be -32602, uncharged.
   * Fixed by refusing such params in parseParams (src/a2a/issues.ts) before the schema runs.
   */
  it('client input the database cannot store is -32602 invalid params, not -32603 internal error, and costs nothing', async () => {
    const paid = (extra: string, messageIdJson = JSON.stringify(randomUUID())) =>
      `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":${messageIdJson},"role":"ROLE_USER",` +
      `"parts":[{"data":{"tool":"getAgentProfile","arguments":{"agentId":1}}}]${extra}}}}`;
    const text = (textJson: string, extra = '') =>
      `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":${JSON.stringify(randomUUID())},"role":"ROLE_USER",` +
      `"parts":[{"text":${textJson}}]${extra}}}}`;
    const cases: Record<string, string> = {
      'NUL in messageId': paid('', '"a\\u0000b"'),
      'lone surrogate in messageId': paid('', '"\\ud800x"'),
      'NUL in a text part': text('"a\\u0000b"'),
      'lone surrogate in a text part': text('"\\udc00"'),
      'NUL in contextId': text('"hi"', ',"contextId":"\\u0000"'),
      'NUL in a metadata key of a paid call': paid(',"metadata":{"k\\u0000":1}'),
      'lone surrogate in metadata of a paid call': paid(',"metadata":{"k":"\\ud800"}'),
      '5,000-level nesting in metadata of a paid call': paid(`,"metadata":{"a":${deep(5000, '[', '', ']').text}}`),
      '5,000-level nesting in a data part': text('"hi"').replace('{"text":"hi"}', `{"data":${deep(5000, '{"a":', '1', '}').text}}`),
      'NUL in ListTasks contextId': '{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{"contextId":"\\u0000"}}',
    };
    const before = await moneyChecks(suite.gateway);
    const wrong: string[] = [];
    for (const [name, body] of Object.entries(cases)) {
      const [answer] = await sendAndCheck(body);
      if (answer?.error?.code !== RpcCode.InvalidParams) wrong.push(`${name}: ${JSON.stringify(answer)}`);
    }
    expect(await moneyChecks(suite.gateway)).toEqual(before);
    expect(wrong, `answered other than -32602:\n${wrong.join('\n')}`).toEqual([]);
  });
});
