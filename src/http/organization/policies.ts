import { z } from 'zod';
import { spendPeriodsAt } from '../../billing/spend-caps.js';
import type { Database } from '../../db/client.js';
import { KeyPolicyPatchSchema, policyJson, RateLimitSchema, SpendCapSchema, SpendPeriodSchema } from '../../policies/policy.js';
import { NO_SPEND, orgPolicyOf, type Spend, updateKeyPolicy, updateOrgPolicy } from '../../policies/store.js';
import type { ToolRegistry } from '../../tools/registry.js';
import { ApiError } from '../api-errors.js';
import { json, jsonRequest, type RestRouter, restRoute } from '../rest-route.js';
import { sessionActor } from '../session-auth.js';

const microUsdcText = z.string().regex(/^\d+$/).describe('micro-USDC, as a decimal string');

const spendCapAnswer = z.strictObject({ amountMicroUsdc: microUsdcText, period: SpendPeriodSchema });

export const keyPolicyAnswer = z.strictObject({
  tools: z.array(z.string()).nullable().describe('the tools the key may call; null: every tool'),
  maxTier: z.number().int().nullable(),
  spendCap: spendCapAnswer.nullable(),
  rateLimit: RateLimitSchema.nullable(),
});

const orgPolicyAnswer = z.strictObject({ spendCap: spendCapAnswer.nullable(), rateLimit: RateLimitSchema.nullable() });

export const spendAnswer = z
  .strictObject({ dayMicroUsdc: microUsdcText, monthMicroUsdc: microUsdcText, reservedMicroUsdc: microUsdcText })
  .describe('what was charged this UTC day and month, and what is held for working tasks');

export const spendJson = (spend: Spend) => ({
  dayMicroUsdc: spend.day.toString(),
  monthMicroUsdc: spend.month.toString(),
  reservedMicroUsdc: spend.reserved.toString(),
});

/** The policy fields POST /v1/keys and PATCH /v1/keys/{id} take. */
export const keyPolicyFields = KeyPolicyPatchSchema.shape;

/** Refuses tool names the gateway does not offer, so a typo cannot leave a key able to call nothing. */
export function requireKnownTools(tools: readonly string[] | null | undefined, registry: ToolRegistry): void {
  const unknown = (tools ?? []).filter((name) => !registry.find(name));
  if (unknown.length > 0) {
    throw new ApiError('invalid_request', `unknown tools: ${unknown.join(', ')}`, 'unknown_tool', {
      unknownTools: unknown,
      validTools: registry.listEnabled().map((tool) => tool.name),
    });
  }
}

export const patchKeyRoute = restRoute({
  method: 'patch',
  path: '/v1/keys/{id}',
  summary: "Change an API key's policy (admins): fields left out stay, null removes a bound; holds from the next call",
  access: { session: 'admin' },
  request: { params: z.object({ id: z.string().describe('the key id') }), ...jsonRequest(KeyPolicyPatchSchema) },
  refusals: [404],
  responses: { 200: json(z.strictObject({ id: z.uuid(), policy: keyPolicyAnswer }), "the key's policy now") },
});

const orgPolicyRequest = z.strictObject({
  spendCap: SpendCapSchema.nullable().default(null),
  rateLimit: RateLimitSchema.nullable().default(null),
});

export const orgPolicyRoute = restRoute({
  method: 'get',
  path: '/v1/policy',
  summary: "The organization's policy over all its keys, and its spend this UTC day and month",
  access: { session: 'viewer' },
  responses: { 200: json(z.strictObject({ policy: orgPolicyAnswer, spend: spendAnswer }), 'the policy and the spend') },
});

export const putOrgPolicyRoute = restRoute({
  method: 'put',
  path: '/v1/policy',
  summary: "Replace the organization's policy over all its keys (admins): a field left out or null is no bound",
  access: { session: 'admin' },
  request: jsonRequest(orgPolicyRequest),
  refusals: [409],
  responses: { 200: json(z.strictObject({ policy: orgPolicyAnswer }), 'the policy now') },
});

const keyId = z.uuid();

/** Key and organization policies: what a key may call, spend and how fast (issue 16). */
export function addPolicyRoutes(api: RestRouter, deps: { db: Database; tools: ToolRegistry; clock: () => Date }) {
  api.add(patchKeyRoute, async (c) => {
    const patch = c.req.valid('json');
    requireKnownTools(patch.tools, deps.tools);
    const id = keyId.safeParse(c.req.param('id'));
    const member = c.get('member');
    const changed = id.success
      ? await deps.db.transaction((tx) => updateKeyPolicy(tx, { keyId: id.data, orgId: member.orgId, patch, by: sessionActor(c) }))
      : undefined;
    if (!id.success || !changed) throw new ApiError('not_found', 'no such API key in this organization', 'unknown_key');
    c.get('log').info({ org: member.orgId, keyId: id.data, by: member.address }, 'api key policy changed');
    return c.json({ id: id.data, policy: policyJson(changed.after) }, 200);
  });
  api.add(orgPolicyRoute, async (c) => {
    const found = await orgPolicyOf(deps.db, c.get('member').orgId, spendPeriodsAt(deps.clock()));
    const policy = found?.policy ?? { spendCap: null, rateLimit: null };
    const spend = found?.spend ?? NO_SPEND;
    return c.json({ policy: policyJson(policy), spend: spendJson(spend) }, 200);
  });
  api.add(putOrgPolicyRoute, async (c) => {
    const body = c.req.valid('json');
    const member = c.get('member');
    const changed = await deps.db.transaction((tx) => updateOrgPolicy(tx, { orgId: member.orgId, patch: body, by: sessionActor(c) }));
    if (!changed) throw new ApiError('conflict', 'this organization has no credit account', 'no_credit_account');
    c.get('log').info({ org: member.orgId, by: member.address }, 'organization policy changed');
    return c.json({ policy: policyJson(changed.after) }, 200);
  });
}
