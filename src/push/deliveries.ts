import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { isoUtc, jsonParam } from '../db/sql.js';
import { MAX_WEBHOOK_ATTEMPTS, retryDelaySeconds } from '../webhooks/webhook.js';
import { pushProtocol } from './configs.js';

/*
 * The push_configs rows as a delivery queue: which webhooks are due, and what a delivery's outcome
 * writes back. What is posted (the task in its A2A generation's shape) is a2a/push-delivery.ts's.
 */

/**
 * A webhook `c` whose task `t` changed since the version last delivered to it (`<state>@<updated_at>`,
 * as push-delivery.ts renders it) and that has attempts left: what the dispatcher claims when it is
 * due, and what the backlog counts.
 */
const awaitingDelivery = sql`c.attempts < ${MAX_WEBHOOK_ATTEMPTS}
  and c.delivered_version is distinct from (t.state::text || '@' || ${isoUtc(sql`t.updated_at`, 'US')})`;

/** A claimed delivery is this instance's for so long; if it dies meanwhile, another retries after. */
const CLAIM_S = 60;

const dueDelivery = z.object({
  id: z.string(),
  taskId: z.string(),
  orgId: z.string(),
  url: z.string(),
  token: z.string().nullable(),
  authScheme: z.string().nullable(),
  authCredentials: z.string().nullable(),
  protocol: pushProtocol,
  attempts: z.number(),
});

export type DueDelivery = z.output<typeof dueDelivery>;

/**
 * Webhooks whose task changed since their last delivery and whose retry time has come, claimed by
 * this instance: at most `limit`, and for each organization at most its free slots of `perOrg`
 * (its turn in `next_attempt_at` order within the organization, so every organization with work
 * gets some).
 * Claiming moves `next_attempt_at` forward; the re-check in the outer WHERE (re-read under the row
 * lock) keeps two instances from claiming the same row.
 */
export async function claimDue(
  db: Database,
  slots: { limit: number; perOrg: number; inFlightByOrg: ReadonlyMap<string, number> },
): Promise<DueDelivery[]> {
  const { limit, inFlightByOrg } = slots;
  if (limit <= 0) return [];
  return db.rows(
    dueDelivery,
    sql`
    with busy as (
      select key::uuid as org_id, value::int as in_flight from json_each_text(${jsonParam(Object.fromEntries(inFlightByOrg))})
    )
    update push_configs p set next_attempt_at = now() + make_interval(secs => ${CLAIM_S})
      from (
        select task_id, id from (
          select c.task_id, c.id, c.org_id, c.next_attempt_at,
                 row_number() over (partition by c.org_id order by c.next_attempt_at, c.task_id, c.id) as turn
            from push_configs c join tasks t on t.id = c.task_id
           where c.next_attempt_at <= now() and ${awaitingDelivery}
        ) ranked left join busy using (org_id)
         where turn <= ${slots.perOrg} - coalesce(busy.in_flight, 0)
         order by turn, next_attempt_at
         limit ${limit}
      ) due
     where p.task_id = due.task_id and p.id = due.id and p.next_attempt_at <= now()
 returning p.id, p.task_id as "taskId", p.org_id as "orgId", p.url, p.token,
           p.auth_scheme as "authScheme", p.auth_credentials as "authCredentials", p.protocol, p.attempts`,
  );
}

/** The version posted (`<state>@<updated_at>` as rendered) is delivered; the retry count starts over. */
export async function markDelivered(db: Database, delivery: DueDelivery, version: string): Promise<void> {
  await db.run(sql`
    update push_configs set delivered_version = ${version}, attempts = 0, next_attempt_at = now(), last_error = null
     where task_id = ${delivery.taskId} and id = ${delivery.id}`);
}

/** A failed post: retried after a backoff that grows with the attempts. */
export async function deferAfterFailure(db: Database, delivery: DueDelivery, error: unknown): Promise<void> {
  const backoffS = retryDelaySeconds(delivery.attempts);
  const reason = error instanceof Error ? error.message : String(error);
  await db.run(sql`
    update push_configs set attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => ${backoffS}), last_error = ${reason.slice(0, 500)}
     where task_id = ${delivery.taskId} and id = ${delivery.id}`);
}

const backlogRow = z.object({ backlog: z.number() });

/** Webhooks whose task changed since their last delivery and that have attempts left: due now or waiting for a retry. */
export async function countPushBacklog(db: Database): Promise<number> {
  const [row] = await db.rows(
    backlogRow,
    sql`
    select count(*)::int as backlog
      from push_configs c join tasks t on t.id = c.task_id
     where ${awaitingDelivery}`,
  );
  return row?.backlog ?? 0;
}
