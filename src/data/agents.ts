import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { groupedReads } from '../db/read-batcher.js';
import { isoUtc, jsonText } from '../db/sql.js';
import { type BoundStatement, StatementTemplate } from '../db/statement.js';

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

const PROFILE_COLUMNS = sql`a.id, a.owner_address as "ownerAddress", a.agent_uri as "agentUri", a.name, a.description, a.active,
      ${isoUtc(sql`a.created_at`)} as "createdAt"`;

/** One agent's profile as a statement of its own: what the bench's floor (bench/floor-script.ts) runs per call. */
export function agentProfileQuery(agentId: unknown): SQL {
  return sql`select ${PROFILE_COLUMNS} from agents a where a.id = ${agentId}::int8`;
}

/**
 * The profiles of the agents in `agentIds` (a json array of decimal strings), each row with its
 * place `n`. Each agent is looked up by its key in a lateral subquery (its `limit 1` keeps it from
 * being flattened into a join): PostgreSQL guesses 100 rows for any set-returning function, and
 * for that many it would rather scan and hash every agent.
 */
const AGENT_PROFILES = new StatementTemplate<'agentIds'>(
  (slot) => sql`
    select want.n::int as n, a.*
    from json_array_elements_text(${slot('agentIds')}::json) with ordinality as want(agent_id, n)
    cross join lateral (select ${PROFILE_COLUMNS} from agents a where a.id = want.agent_id::int8 limit 1) a`,
);

/** The statement that reads the profiles of `agentIds` together; each row carries the place `n` of its agent. */
export function agentProfilesStatement(agentIds: readonly bigint[]): BoundStatement {
  return AGENT_PROFILES.bind({ agentIds: jsonText(agentIds) });
}

const placedProfile = agentProfile.extend({ n: z.number() });

/** Profiles are read many at a time: the paid calls answered together share one statement. */
const profileReads = groupedReads({ row: placedProfile, statement: agentProfilesStatement });

export async function findAgentProfile(db: Database, agentId: bigint): Promise<AgentProfile | undefined> {
  const placed = await profileReads(db.replica).read(agentId);
  if (!placed) return undefined;
  const { n: _, ...profile } = placed;
  return profile;
}
