import { sql } from 'drizzle-orm';
import { grantCredits, openCreditAccount } from '../billing/accounts.js';
import type { Database } from '../db/client.js';
import { createApiKey, type IssuedKey } from './api-keys.js';

export interface NewOrganization {
  orgId: string;
  name: string;
  apiKey: IssuedKey;
  credits: bigint;
}

/** An organization with its credit account, a first API key and optional starting credits. */
export async function createOrganization(
  db: Database,
  input: { name: string; credits: bigint; keyName?: string; grantReason?: string },
): Promise<NewOrganization> {
  return db.transaction(async (tx) => {
    const [org] = await tx.rows<{ id: string }>(
      sql`insert into organizations (name) values (${input.name}) returning id`,
    );
    if (!org) throw new Error('organization insert returned no row');
    await openCreditAccount(tx, org.id);
    if (input.credits > 0n) {
      await grantCredits(tx, { orgId: org.id, amount: input.credits, reason: input.grantReason ?? 'initial grant' });
    }
    const apiKey = await createApiKey(tx, { orgId: org.id, name: input.keyName ?? 'default' });
    return { orgId: org.id, name: input.name, apiKey, credits: input.credits };
  });
}

export async function organizationExists(db: Database, orgId: string): Promise<boolean> {
  const rows = await db.rows<{ id: string }>(sql`select id from organizations where id = ${orgId}`);
  return rows.length > 0;
}
