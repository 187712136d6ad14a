/**
 * JSON-RPC envelopes with every member of the wrong type, missing or extra, and mixed batches of
 * valid paid calls, invalid requests, notifications and duplicate ids.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { a2aVersionHeader, auth, batchElement, request, serialize, validId, validPaidCall } from './arbitraries.js';
import { DATABASE_LABEL, PROPERTY_TIMEOUT_MS, runs, sendAndCheck, useFuzzGateway } from './harness.js';

useFuzzGateway('envelope');

describe(`fuzzing POST /a2a: envelopes and batches (${DATABASE_LABEL})`, () => {
  it(
    'JSON-RPC requests with every envelope member of the wrong type, missing or extra',
    async () => {
      await fc.assert(
        fc.asyncProperty(request, auth, a2aVersionHeader, async (body, choice, version) => {
          await sendAndCheck(serialize(body), choice, version === null ? {} : { 'a2a-version': version });
        }),
        runs(1000),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'mixed batches: valid paid calls, invalid requests, notifications, duplicate ids',
    async () => {
      const batch = fc.oneof(
        fc.array(batchElement, { minLength: 1, maxLength: 10 }),
        // every element shares one id
        fc
          .tuple(fc.array(fc.oneof(validPaidCall, request), { minLength: 2, maxLength: 6 }), validId)
          .map(([elements, id]) => elements.map((element) => ({ ...element, id }))),
      );
      await fc.assert(
        fc.asyncProperty(batch, auth, async (elements, choice) => {
          await sendAndCheck(serialize(elements), choice);
        }),
        runs(300),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
