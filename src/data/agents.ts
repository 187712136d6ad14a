import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';
import { StatementTemplate } from '../db/statement.js';

const agentProfile = z.object({
  id: z.bigint(),
  ownerAddress: z.string(),
  agentUri: z.string().nullable(),
  name: z.string().nullable(),
  description: z.string().nullable(),
  /** null when the registration file did not say */
  active: z.boolean().nullable(),
  /** ISO-8601 UTC */
  createdAt: z.string(),
});

export type AgentProfile = z.output<typeof agentProfile>;

/** The statement findAgentProfile runs, for an agent id or a template's slot; the bench's floor (bench/floor-script.ts) runs it too. */
export function agentProfileQuery(agentId: unknown): SQL {
  return sql`
    select id, owner_address as "ownerAddress", agent_uri as "agentUri", name, description, active,
      ${isoUtc(sql`created_at`)} as "createdAt"
    from agents
    where id = ${agentId}::int8`;
}

const AGENT_PROFILE = new StatementTemplate<'agentId'>((slot) => agentProfileQuery(slot('agentId')));

export async function findAgentProfile(db: Database, agentId: bigint): Promise<AgentProfile | undefined> {
  const [profile] = await db.rows(agentProfile, AGENT_PROFILE.bind({ agentId }));
  return profile;
}
