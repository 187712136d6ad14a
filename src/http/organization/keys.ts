import { z } from 'zod';
import { createApiKey, EXPIRY_IN_PAST, isExpiryInPast, listApiKeys, revokeApiKey } from '../../auth/api-keys.js';
import { spendPeriodsAt } from '../../billing/spend-caps.js';
import type { Database } from '../../db/client.js';
import { boundedInstant } from '../../db/ranges.js';
import { NO_KEY_POLICY, policyJson } from '../../policies/policy.js';
import { keyPoliciesOf, NO_SPEND, updateKeyPolicy } from '../../policies/store.js';
import type { ToolRegistry } from '../../tools/registry.js';
import { ApiError } from '../api-errors.js';
import { instant } from '../responses.js';
import { json, jsonRequest, type RestRouter, restRoute } from '../rest-route.js';
import { sessionActor } from '../session-auth.js';
import { keyPolicyAnswer, keyPolicyFields, requireKnownTools, spendAnswer, spendJson } from './policies.js';

const newKey = z.object({
  // A key's name is shown in lists: one line, no control characters.
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters'),
  expiresAt: boundedInstant.optional(),
  ...keyPolicyFields,
});

const keyId = z.uuid();

const keysAnswer = z.strictObject({
  keys: z.array(
    z.strictObject({
      id: z.uuid(),
      name: z.string(),
      prefix: z.string(),
      createdAt: instant,
      expiresAt: instant.nullable(),
      revokedAt: instant.nullable(),
      lastUsedAt: instant
        .nullable()
        .describe(
          'when the key last made a call the gateway recorded as a task (paid, held, or failed with nothing charged); calls refused before one (policy, rate limit, credit) do not count; null: never',
        ),
      policy: keyPolicyAnswer,
      spend: spendAnswer,
    }),
  ),
});

const newKeyAnswer = z.strictObject({
  key: z.string().describe('the API key itself, shown in this answer only'),
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  expiresAt: instant.nullable(),
  policy: keyPolicyAnswer,
});

export const keysRoute = restRoute({
  method: 'get',
  path: '/v1/keys',
  summary: "The organization's API keys (prefixes only)",
  access: { session: 'viewer' },
  responses: { 200: json(keysAnswer, 'the keys') },
});

export const createKeyRoute = restRoute({
  method: 'post',
  path: '/v1/keys',
  summary: 'Create an API key (admins); the key is in this answer only',
  access: { session: 'admin' },
  request: jsonRequest(newKey),
  responses: { 201: json(newKeyAnswer, 'the new key') },
});

export const revokeKeyRoute = restRoute({
  method: 'delete',
  path: '/v1/keys/{id}',
  summary: 'Revoke an API key at once (admins)',
  access: { session: 'admin' },
  request: { params: z.object({ id: z.string().describe('the key id') }) },
  refusals: [404],
  responses: { 204: { description: 'revoked' } },
});

/** API keys: every member lists them (prefixes only) with their policies and spend, admins create and revoke them. */
export function addKeyRoutes(api: RestRouter, deps: { db: Database; tools: ToolRegistry; clock: () => Date }) {
  api.add(keysRoute, async (c) => {
    const orgId = c.get('member').orgId;
    const [keys, policies] = await Promise.all([listApiKeys(deps.db, orgId), keyPoliciesOf(deps.db, orgId, spendPeriodsAt(deps.clock()))]);
    const listed = keys.map((key) => {
      const found = policies.get(key.id);
      return { ...key, policy: policyJson(found?.policy ?? NO_KEY_POLICY), spend: spendJson(found?.spend ?? NO_SPEND) };
    });
    return c.json({ keys: listed }, 200);
  });
  api.add(createKeyRoute, async (c) => {
    const { name, expiresAt, ...patch } = c.req.valid('json');
    if (isExpiryInPast(expiresAt)) throw new ApiError('invalid_request', EXPIRY_IN_PAST.message, EXPIRY_IN_PAST.reason);
    requireKnownTools(patch.tools, deps.tools);
    const member = c.get('member');
    const by = sessionActor(c);
    const { issued, policy } = await deps.db.transaction(async (tx) => {
      const issued = await createApiKey(tx, { orgId: member.orgId, name, expiresAt, by });
      const changed = await updateKeyPolicy(tx, { keyId: issued.id, patch, by });
      return { issued, policy: changed?.after ?? NO_KEY_POLICY };
    });
    c.get('log').info({ org: member.orgId, keyId: issued.id, by: member.address }, 'api key created');
    // The key itself is in this response only; it is stored as a hash.
    return c.json(
      {
        key: issued.key,
        id: issued.id,
        name: issued.name,
        prefix: issued.prefix,
        expiresAt: issued.expiresAt,
        policy: policyJson(policy),
      },
      201,
    );
  });
  api.add(revokeKeyRoute, async (c) => {
    const id = keyId.safeParse(c.req.param('id'));
    // Another organization's key is "not found" too: nothing tells one organization about another's keys.
    if (!id.success || !(await revokeApiKey(deps.db, { keyId: id.data, orgId: c.get('member').orgId, by: sessionActor(c) }))) {
      throw new ApiError('not_found', 'no such API key in this organization', 'unknown_key');
    }
    c.get('log').info({ org: c.get('member').orgId, keyId: id.data, by: c.get('member').address }, 'api key revoked');
    return c.body(null, 204);
  });
}
