import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { renderV03Task } from '../a2a/v03.js';
import { renderV1Task } from '../a2a/v1.js';
import type { Database } from '../db/client.js';
import { isoUtc, jsonParam } from '../db/sql.js';
import { findTask } from '../tasks/store.js';
import { toTaskView } from '../tasks/view.js';
import type { PushProtocol } from './configs.js';
import { MAX_WEBHOOK_ATTEMPTS, postWebhook, retryDelaySeconds } from './webhook.js';
import { repeat } from '../repeat.js';

/** A claimed delivery is this instance's for so long; if it dies meanwhile, another retries after. */
const CLAIM_S = 60;

interface DueDelivery {
  id: string;
  taskId: string;
  orgId: string;
  url: string;
  token: string | null;
  authScheme: string | null;
  authCredentials: string | null;
  protocol: PushProtocol;
  attempts: number;
}

/**
 * Deliveries one instance runs at once for one organization: a destination that is slow or never
 * answers holds at most these slots (each for the delivery timeout), never another organization's.
 */
export const PUSH_IN_FLIGHT_PER_ORG = 4;
/** Deliveries one instance runs at once in all. */
const PUSH_IN_FLIGHT = 64;

/**
 * Webhooks whose task changed since their last delivery and whose retry time has come, claimed by
 * this instance: at most `limit`, and for each organization at most its free slots (its turn in
 * `next_attempt_at` order within the organization, so every organization with work gets some).
 * Claiming moves `next_attempt_at` forward; the re-check in the outer WHERE (re-read under the row
 * lock) keeps two instances from claiming the same row.
 */
async function claimDue(db: Database, limit: number, inFlightByOrg: ReadonlyMap<string, number>): Promise<DueDelivery[]> {
  if (limit <= 0) return [];
  return db.rows<DueDelivery>(sql`
    with busy as (
      select key::uuid as org_id, value::int as in_flight from json_each_text(${jsonParam(Object.fromEntries(inFlightByOrg))})
    )
    update push_configs p set next_attempt_at = now() + make_interval(secs => ${CLAIM_S})
      from (
        select task_id, id from (
          select c.task_id, c.id, c.org_id, c.next_attempt_at,
                 row_number() over (partition by c.org_id order by c.next_attempt_at, c.task_id, c.id) as turn
            from push_configs c join tasks t on t.id = c.task_id
           where c.next_attempt_at <= now() and c.attempts < ${MAX_WEBHOOK_ATTEMPTS}
             and c.delivered_version is distinct from (t.state::text || '@' || ${isoUtc(sql`t.updated_at`, 'US')})
        ) ranked left join busy using (org_id)
         where turn <= ${PUSH_IN_FLIGHT_PER_ORG} - coalesce(busy.in_flight, 0)
         order by turn, next_attempt_at
         limit ${limit}
      ) due
     where p.task_id = due.task_id and p.id = due.id and p.next_attempt_at <= now()
 returning p.id, p.task_id as "taskId", p.org_id as "orgId", p.url, p.token,
           p.auth_scheme as "authScheme", p.auth_credentials as "authCredentials", p.protocol, p.attempts`);
}

/** The config's own headers: its token, and its authentication as A2A 1.0 §4.3.3 puts it. */
function deliveryHeaders(delivery: DueDelivery): Record<string, string> {
  return {
    ...(delivery.token ? { 'x-a2a-notification-token': delivery.token } : {}),
    ...(delivery.authScheme && delivery.authCredentials ? { authorization: `${delivery.authScheme} ${delivery.authCredentials}` } : {}),
  };
}

async function deliver(db: Database, delivery: DueDelivery, allowPrivateNetworks: boolean): Promise<void> {
  const task = await findTask(db, delivery.orgId, delivery.taskId);
  if (!task) return;
  const view = toTaskView(task);
  const body = JSON.stringify(delivery.protocol === '1.0' ? { task: renderV1Task(view) } : renderV03Task(view));
  // The version delivered is the one rendered, even if the task changes while this posts.
  const version = `${task.state}@${task.updated_at}`;
  await postWebhook({
    url: delivery.url,
    body,
    allowPrivateNetworks,
    headers: deliveryHeaders(delivery),
    ...(delivery.token ? { signed: { header: 'x-a2a-signature', key: delivery.token } } : {}),
  });
  await db.rows(sql`
    update push_configs set delivered_version = ${version}, attempts = 0, next_attempt_at = now(), last_error = null
     where task_id = ${delivery.taskId} and id = ${delivery.id}`);
}

async function deferAfterFailure(db: Database, delivery: DueDelivery, error: unknown): Promise<void> {
  const backoffS = retryDelaySeconds(delivery.attempts);
  const reason = error instanceof Error ? error.message : String(error);
  await db.rows(sql`
    update push_configs set attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => ${backoffS}), last_error = ${reason.slice(0, 500)}
     where task_id = ${delivery.taskId} and id = ${delivery.id}`);
}

interface DispatchInput {
  db: Database;
  log: Logger;
  allowPrivateNetworks: boolean;
}

/** Delivers one claimed notice; a failure is logged and retried with backoff. */
function deliverOrDefer(input: DispatchInput, delivery: DueDelivery): Promise<void> {
  return deliver(input.db, delivery, input.allowPrivateNetworks).catch(async (error: unknown) => {
    input.log.warn({ task: delivery.taskId, config: delivery.id, attempts: delivery.attempts + 1, err: error }, 'push notification failed; will retry');
    await deferAfterFailure(input.db, delivery, error);
  });
}

/** One pass, awaited to its end: posts the current state of every changed task to its webhooks (at most `batch`). */
export async function dispatchPushNotifications(input: DispatchInput & { batch: number }): Promise<number> {
  const due = await claimDue(input.db, input.batch, new Map());
  await Promise.all(due.map((delivery) => deliverOrDefer(input, delivery)));
  return due.length;
}

/**
 * Delivers continuously: every `intervalMs` it claims what fits in the free slots (PUSH_IN_FLIGHT
 * in all, PUSH_IN_FLIGHT_PER_ORG per organization) and starts it, without waiting for deliveries
 * started before, so a slow destination delays only its own organization's later notices.
 */
export function startPushDispatcher(input: DispatchInput & { intervalMs: number }): () => Promise<void> {
  const inFlightByOrg = new Map<string, number>();
  const running = new Set<Promise<void>>();
  const count = (orgId: string, change: number) => {
    const next = (inFlightByOrg.get(orgId) ?? 0) + change;
    if (next > 0) inFlightByOrg.set(orgId, next);
    else inFlightByOrg.delete(orgId);
  };
  const stopClaiming = repeat(
    async () => {
      const due = await claimDue(input.db, PUSH_IN_FLIGHT - running.size, inFlightByOrg);
      for (const delivery of due) {
        count(delivery.orgId, 1);
        const delivering = deliverOrDefer(input, delivery).finally(() => {
          count(delivery.orgId, -1);
          running.delete(delivering);
        });
        running.add(delivering);
      }
    },
    { intervalMs: input.intervalMs, onError: (error) => input.log.warn({ err: error }, 'push dispatcher pass failed') },
  );
  return async () => {
    await stopClaiming();
    await Promise.all(running);
  };
}
