import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Actor, recordAudit } from '../audit/record.js';
import { announceKeyChange } from '../auth/key-changes.js';
import { type SpendPeriods, spendInPeriods } from '../billing/spend-caps.js';
import type { Database } from '../db/client.js';
import {
  type KeyPolicy,
  type KeyPolicyPatch,
  type OrgPolicy,
  type OrgPolicyPatch,
  patchedKeyPolicy,
  patchedOrgPolicy,
  policyJson,
  SpendPeriodSchema,
} from './policy.js';

const policyColumns = {
  capAmount: z.bigint().nullable(),
  capPeriod: SpendPeriodSchema.nullable(),
  rateRequests: z.number().nullable(),
  rateWindowSeconds: z.number().nullable(),
};

type PolicyColumns = z.output<z.ZodObject<typeof policyColumns>>;

function boundsOf(row: PolicyColumns): OrgPolicy {
  return {
    spendCap: row.capAmount === null || row.capPeriod === null ? null : { amountMicroUsdc: row.capAmount, period: row.capPeriod },
    rateLimit:
      row.rateRequests === null || row.rateWindowSeconds === null
        ? null
        : { requests: row.rateRequests, windowSeconds: row.rateWindowSeconds },
  };
}

const KeyPolicyRow = z
  .object({ tools: z.array(z.string()).nullable(), maxTier: z.number().nullable(), ...policyColumns })
  .transform((row): KeyPolicy => ({ tools: row.tools, maxTier: row.maxTier, ...boundsOf(row) }));

const OrgPolicyRow = z.object(policyColumns).transform(boundsOf);

/** What a key or an organization spent in the current UTC day and month, and holds for working tasks (micro-USDC). */
export interface Spend {
  day: bigint;
  month: bigint;
  reserved: bigint;
}

/** The spend of a key or organization that has none recorded yet. */
export const NO_SPEND: Spend = { day: 0n, month: 0n, reserved: 0n };

const spendColumns = { spentDay: z.bigint(), spentMonth: z.bigint(), reserved: z.bigint() };
const spendOf = (row: { spentDay: bigint; spentMonth: bigint; reserved: bigint }): Spend => ({
  day: row.spentDay,
  month: row.spentMonth,
  reserved: row.reserved,
});

const KEY_POLICY_COLUMNS = sql`k.tools, k.max_tier::int as "maxTier", k.spend_cap_micro_usdc as "capAmount",
  k.spend_cap_period::text as "capPeriod", k.rate_limit_requests as "rateRequests", k.rate_limit_window_seconds as "rateWindowSeconds"`;

const KeyPolicySpendRow = z.object({ id: z.string(), ...spendColumns }).and(KeyPolicyRow.transform((policy) => ({ policy })));

/** Every key's policy and spend in the organization, by key id. */
export async function keyPoliciesOf(
  db: Database,
  orgId: string,
  periods: SpendPeriods,
): Promise<Map<string, { policy: KeyPolicy; spend: Spend }>> {
  const rows = await db.rows(
    KeyPolicySpendRow,
    sql`
    select k.id, ${KEY_POLICY_COLUMNS}, ${spendInPeriods(sql`k`, periods)}, k.reserved
      from api_keys k where k.org_id = ${orgId}`,
  );
  return new Map(rows.map((row) => [row.id, { policy: row.policy, spend: spendOf(row) }]));
}

const PolicyBeforeRow = z.object({ orgId: z.string() }).and(KeyPolicyRow.transform((policy) => ({ policy })));

/** Whether a change of policy changes anything: one that does not writes no audit row. */
const samePolicy = (before: KeyPolicy | OrgPolicy, after: KeyPolicy | OrgPolicy) =>
  JSON.stringify(policyJson(before)) === JSON.stringify(policyJson(after));

/**
 * Changes a key's policy in the caller's transaction: the fields the patch names, under the key's
 * row lock, with its `key.policy.set` audit row by `by` and its announcement to the key caches
 * (neither when the policy stays as it was).
 * `orgId` confines it to that organization's keys. Undefined for a key that does not exist there.
 */
export async function updateKeyPolicy(
  tx: Database,
  input: { keyId: string; orgId?: string; patch: KeyPolicyPatch; by: Actor },
): Promise<{ orgId: string; before: KeyPolicy; after: KeyPolicy } | undefined> {
  const [row] = await tx.rows(
    PolicyBeforeRow,
    sql`
    select k.org_id as "orgId", ${KEY_POLICY_COLUMNS}
      from api_keys k where k.id = ${input.keyId} ${input.orgId ? sql`and k.org_id = ${input.orgId}` : sql``}
       for no key update`,
  );
  if (!row) return undefined;
  const after = patchedKeyPolicy(row.policy, input.patch);
  await tx.run(sql`
    update api_keys
       set tools = ${after.tools === null ? null : sql`array(select jsonb_array_elements_text(${JSON.stringify(after.tools)}::jsonb))`},
           max_tier = ${after.maxTier},
           spend_cap_micro_usdc = ${after.spendCap?.amountMicroUsdc ?? null}, spend_cap_period = ${after.spendCap?.period ?? null},
           rate_limit_requests = ${after.rateLimit?.requests ?? null}, rate_limit_window_seconds = ${after.rateLimit?.windowSeconds ?? null}
     where id = ${input.keyId}`);
  if (!samePolicy(row.policy, after)) {
    await announceKeyChange(tx, input.keyId);
    await recordAudit(tx, input.by, {
      orgId: row.orgId,
      action: 'key.policy.set',
      target: { kind: 'api_key', id: input.keyId },
      before: policyJson(row.policy),
      after: policyJson(after),
    });
  }
  return { orgId: row.orgId, before: row.policy, after };
}

const OrgPolicySpendRow = z.object(spendColumns).and(OrgPolicyRow.transform((policy) => ({ policy })));

const ORG_POLICY_COLUMNS = sql`c.spend_cap_micro_usdc as "capAmount", c.spend_cap_period::text as "capPeriod",
  p.rate_limit_requests as "rateRequests", p.rate_limit_window_seconds as "rateWindowSeconds"`;

/** The organization's policy over all its keys and its spend; undefined without a credit account. */
export async function orgPolicyOf(
  db: Database,
  orgId: string,
  periods: SpendPeriods,
): Promise<{ policy: OrgPolicy; spend: Spend } | undefined> {
  const [row] = await db.rows(
    OrgPolicySpendRow,
    sql`
    select ${ORG_POLICY_COLUMNS}, ${spendInPeriods(sql`c`, periods)}, c.reserved
      from credit_accounts c left join org_policies p on p.org_id = c.org_id
     where c.org_id = ${orgId}`,
  );
  return row && { policy: row.policy, spend: spendOf(row) };
}

/**
 * Changes the organization's policy in the caller's transaction: its spend cap on its credit
 * account, under that row's lock (the one every money statement takes, so the next charge reads the
 * new cap), its rate limit in org_policies; with its `org.policy.set` audit row by `by` (none when
 * the policy stays as it was). Undefined for an organization without a credit account.
 */
export async function updateOrgPolicy(
  tx: Database,
  input: { orgId: string; patch: OrgPolicyPatch; by: Actor },
): Promise<{ before: OrgPolicy; after: OrgPolicy } | undefined> {
  const [before] = await tx.rows(
    OrgPolicyRow,
    sql`
    select ${ORG_POLICY_COLUMNS}
      from credit_accounts c left join org_policies p on p.org_id = c.org_id
     where c.org_id = ${input.orgId}
       for no key update of c`,
  );
  if (!before) return undefined;
  const after = patchedOrgPolicy(before, input.patch);
  await tx.run(sql`
    update credit_accounts
       set spend_cap_micro_usdc = ${after.spendCap?.amountMicroUsdc ?? null}, spend_cap_period = ${after.spendCap?.period ?? null}
     where org_id = ${input.orgId}`);
  await tx.run(sql`
    insert into org_policies (org_id, rate_limit_requests, rate_limit_window_seconds)
    values (${input.orgId}, ${after.rateLimit?.requests ?? null}, ${after.rateLimit?.windowSeconds ?? null})
    on conflict (org_id) do update
       set rate_limit_requests = excluded.rate_limit_requests, rate_limit_window_seconds = excluded.rate_limit_window_seconds,
           updated_at = now()`);
  if (!samePolicy(before, after)) {
    await announceKeyChange(tx, input.orgId);
    await recordAudit(tx, input.by, {
      orgId: input.orgId,
      action: 'org.policy.set',
      target: { kind: 'organization', id: input.orgId },
      before: policyJson(before),
      after: policyJson(after),
    });
  }
  return { before, after };
}
