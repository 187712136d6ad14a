import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { renderV03Task } from '../a2a/v03.js';
import { renderV1Task } from '../a2a/v1.js';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';
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

/** Webhooks whose task changed since their last delivery and whose retry time has come, claimed by this instance. */
async function claimDue(db: Database, limit: number): Promise<DueDelivery[]> {
  return db.rows<DueDelivery>(sql`
    update push_configs p set next_attempt_at = now() + make_interval(secs => ${CLAIM_S})
      from (
        select c.task_id, c.id from push_configs c join tasks t on t.id = c.task_id
         where c.next_attempt_at <= now() and c.attempts < ${MAX_WEBHOOK_ATTEMPTS}
           and c.delivered_version is distinct from (t.state::text || '@' || ${isoUtc(sql`t.updated_at`, 'US')})
         order by c.next_attempt_at
         limit ${limit}
           for update of c skip locked
      ) due
     where p.task_id = due.task_id and p.id = due.id
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

/** One pass: posts the current state of every changed task to its webhooks; failures retry with exponential backoff. */
export async function dispatchPushNotifications(input: { db: Database; log: Logger; allowPrivateNetworks: boolean; batch: number }): Promise<number> {
  const due = await claimDue(input.db, input.batch);
  await Promise.all(
    due.map((delivery) =>
      deliver(input.db, delivery, input.allowPrivateNetworks).catch(async (error: unknown) => {
        input.log.warn({ task: delivery.taskId, config: delivery.id, attempts: delivery.attempts + 1, err: error }, 'push notification failed; will retry');
        await deferAfterFailure(input.db, delivery, error);
      }),
    ),
  );
  return due.length;
}

export function startPushDispatcher(input: { db: Database; log: Logger; allowPrivateNetworks: boolean; intervalMs: number }): () => Promise<void> {
  return repeat(() => dispatchPushNotifications({ ...input, batch: 20 }), {
    intervalMs: input.intervalMs,
    onError: (error) => input.log.warn({ err: error }, 'push dispatcher pass failed'),
  });
}
