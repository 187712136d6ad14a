import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';

export interface AgentProfile {
  readonly id: bigint;
  readonly ownerAddress: string;
  readonly agentUri: string | null;
  readonly name: string | null;
  readonly description: string | null;
  /** null when the registration file did not say */
  readonly active: boolean | null;
  /** ISO-8601 UTC */
  readonly createdAt: string;
}

export async function findAgentProfile(db: Database, agentId: bigint): Promise<AgentProfile | undefined> {
  const [profile] = await db.rows<AgentProfile>(sql`
    select id, owner_address as "ownerAddress", agent_uri as "agentUri", name, description, active,
      ${isoUtc(sql`created_at`)} as "createdAt"
    from agents
    where id = ${agentId}::int8`);
  return profile;
}
