import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { isoUtc, pageWindow } from '../db/sql.js';
import { passRate, validationPassed } from './scores.js';

const validationRecord = z.object({
  id: z.string(),
  validatorAddress: z.string(),
  passed: z.boolean(),
  /** the 0..100 response */
  response: z.number(),
  tag: z.string(),
  requestHash: z.string(),
  /** ISO-8601 UTC */
  createdAt: z.string(),
});

export type ValidationRecord = z.output<typeof validationRecord>;

export interface ValidationPageQuery {
  readonly agentId: bigint;
  readonly limit: number;
  readonly offset: number;
}

const validationPage = z.object({
  /** all of the agent's validations, over all pages */
  total: z.number(),
  /** over all of the agent's validations; null when there are none */
  passRate: z.number().nullable(),
  validations: z.array(validationRecord),
});

export type ValidationPage = z.output<typeof validationPage>;

/** One page of an agent's validations, newest first; undefined when the agent is not registered. */
export async function listValidations(db: Database, query: ValidationPageQuery): Promise<ValidationPage | undefined> {
  const ofAgent = sql`agent_id = ${query.agentId}::int8`;
  // One row when the agent is registered, none otherwise.
  const [page] = await db.replica.rows(
    validationPage,
    sql`
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
    where agents.id = ${query.agentId}::int8`,
  );
  return page;
}
