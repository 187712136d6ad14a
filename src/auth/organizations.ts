import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Actor, recordAudit } from '../audit/record.js';
import { grantCredits, openCreditAccount } from '../billing/accounts.js';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';
import { createApiKey, type IssuedKey } from './api-keys.js';

const idRow = z.object({ id: z.string() });

export interface NewOrganization {
  orgId: string;
  name: string;
  apiKey: IssuedKey;
  credits: bigint;
}

/**
 * An organization with its credit account, a first API key and optional starting credits, in one
 * transaction with their audit rows: `org.create`, `credits.grant` (when there are credits) and
 * `key.create`, each by `by`.
 */
export async function createOrganization(
  db: Database,
  input: { name: string; credits: bigint; keyName?: string; grantReason?: string; by: Actor },
): Promise<NewOrganization> {
  return db.transaction(async (tx) => {
    const [org] = await tx.rows(idRow, sql`insert into organizations (name) values (${input.name}) returning id`);
    if (!org) throw new Error('organization insert returned no row');
    await recordAudit(tx, input.by, {
      orgId: org.id,
      action: 'org.create',
      target: { kind: 'organization', id: org.id },
      before: null,
      after: { id: org.id, name: input.name },
    });
    await openCreditAccount(tx, org.id);
    if (input.credits > 0n) {
      await grantCredits(tx, { orgId: org.id, amount: input.credits, reason: input.grantReason ?? 'initial grant', by: input.by });
    }
    const apiKey = await createApiKey(tx, { orgId: org.id, name: input.keyName ?? 'default', by: input.by });
    return { orgId: org.id, name: input.name, apiKey, credits: input.credits };
  });
}

export async function organizationExists(db: Database, orgId: string): Promise<boolean> {
  const rows = await db.rows(idRow, sql`select id from organizations where id = ${orgId}`);
  return rows.length > 0;
}

const organizationSummary = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  /** micro-USDC; 0 without a credit account */
  balance: z.bigint(),
  reserved: z.bigint(),
});

export type OrganizationSummary = z.output<typeof organizationSummary>;

function summaries(where: SQL) {
  return sql`
    select o.id, o.name, ${isoUtc(sql`o.created_at`)} as "createdAt",
           coalesce(a.balance, 0)::int8 as balance, coalesce(a.reserved, 0)::int8 as reserved
      from organizations o left join credit_accounts a on a.org_id = o.id
     where ${where}
     order by o.created_at, o.id`;
}

/** Every organization with its balance, oldest first: the operator's overview. */
export async function listOrganizations(db: Database): Promise<OrganizationSummary[]> {
  return db.rows(organizationSummary, summaries(sql`true`));
}

export async function getOrganization(db: Database, orgId: string): Promise<OrganizationSummary | undefined> {
  const [row] = await db.rows(organizationSummary, summaries(sql`o.id = ${orgId}`));
  return row;
}

/** The organizations already called `name` (names are not unique, but a second one is rarely meant). */
export async function organizationsNamed(db: Database, name: string): Promise<OrganizationSummary[]> {
  return db.rows(organizationSummary, summaries(sql`o.name = ${name}`));
}

const nameRow = z.object({ name: z.string() });

/**
 * Renames an organization, its `org.rename` audit row (the name before and after) in the same
 * transaction; the row is locked so two renames at once record the name each really replaced.
 * Returns undefined for an unknown organization; a rename to the same name changes nothing and
 * writes no audit row.
 */
export async function renameOrganization(
  db: Database,
  input: { orgId: string; name: string; by: Actor },
): Promise<{ id: string; name: string } | undefined> {
  return db.transaction(async (tx) => {
    const [before] = await tx.rows(nameRow, sql`select name from organizations where id = ${input.orgId} for no key update`);
    if (!before) return undefined;
    if (before.name === input.name) return { id: input.orgId, name: input.name };
    await tx.run(sql`update organizations set name = ${input.name} where id = ${input.orgId}`);
    await recordAudit(tx, input.by, {
      orgId: input.orgId,
      action: 'org.rename',
      target: { kind: 'organization', id: input.orgId },
      before: { id: input.orgId, name: before.name },
      after: { id: input.orgId, name: input.name },
    });
    return { id: input.orgId, name: input.name };
  });
}
