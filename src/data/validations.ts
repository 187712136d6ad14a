import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { isoUtc, pageWindow } from '../db/sql.js';
import { passRate, validationPassed } from './scores.js';

export interface ValidationRecord {
  readonly id: string;
  readonly validatorAddress: string;
  readonly passed: boolean;
  /** the 0..100 response */
  readonly response: number;
  readonly tag: string;
  readonly requestHash: string;
  /** ISO-8601 UTC */
  readonly createdAt: string;
}

export interface ValidationPageQuery {
  readonly agentId: bigint;
  readonly limit: number;
  readonly offset: number;
}

export interface ValidationPage {
  /** all of the agent's validations, over all pages */
  readonly total: number;
  /** over all of the agent's validations; null when there are none */
  readonly passRate: number | null;
  readonly validations: ValidationRecord[];
}

/** One page of an agent's validations, newest first; undefined when the agent is not registered. */
export async function listValidations(db: Database, query: ValidationPageQuery): Promise<ValidationPage | undefined> {
  const ofAgent = sql`agent_id = ${query.agentId}::int8`;
  // One row when the agent is registered, none otherwise.
  const [page] = await db.rows<ValidationPage>(sql`
    select stats.total, ${passRate(sql`stats.passed`, sql`stats.total`)} as "passRate",
      coalesce((
        select jsonb_agg(page.validation order by page.created_at desc, page.id desc)
        from (
          select created_at, id, jsonb_build_object(
            'id', id,
            'validatorAddress', validator_address,
            'passed', ${validationPassed},
            'response', response,
            'tag', tag,
            'requestHash', request_hash,
            'createdAt', ${isoUtc(sql`created_at`)}
          ) as validation
          from validations
          where ${ofAgent}
          order by created_at desc, id desc
          ${pageWindow(query)}
        ) page
      ), '[]'::jsonb) as validations
    from agents
    cross join lateral (
      select count(*)::int as total, (count(*) filter (where ${validationPassed}))::int as passed
      from validations
      where ${ofAgent}
    ) stats
    where agents.id = ${query.agentId}::int8`);
  return page;
}
