import type { Logger } from 'pino';
import type { Database } from '../db/client.js';
import type { Observer } from '../domain/observer.js';
import { claimDue, type DueDelivery, deferAfterFailure, markDelivered } from '../push/deliveries.js';
import { repeat } from '../repeat.js';
import { findTask } from '../tasks/store.js';
import { toTaskView } from '../tasks/view.js';
import { inSpan } from '../tracing/spans.js';
import { MAX_WEBHOOK_ATTEMPTS, postWebhook } from '../webhooks/webhook.js';
import { renderV1Task } from './v1.js';
import { renderV03Task } from './v03.js';

/*
 * A2A push notifications: the current state of each changed task, posted to its webhooks in the
 * shape of the generation that registered them. Which webhooks are due and what a delivery writes
 * back are push/deliveries.ts's.
 */

/**
 * Deliveries one instance runs at once for one organization: a destination that is slow or never
 * answers holds at most these slots (each for the delivery timeout), never another organization's.
 */
export const PUSH_IN_FLIGHT_PER_ORG = 4;
/** Deliveries one instance runs at once in all. */
const PUSH_IN_FLIGHT = 64;

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
  await markDelivered(db, delivery, version);
}

interface DispatchInput {
  db: Database;
  log: Logger;
  allowPrivateNetworks: boolean;
  /** told how each delivery ended */
  observe: Pick<Observer, 'pushDelivered'>;
}

/** Delivers one claimed notice; a failure is logged and retried with backoff. */
function deliverOrDefer(input: DispatchInput, delivery: DueDelivery): Promise<void> {
  // A trace of its own: the delivery runs in the dispatcher's pass, long after the request that changed the task.
  const delivered = inSpan('push delivery', { 'task.id': delivery.taskId, 'a2a.protocol': delivery.protocol }, () =>
    deliver(input.db, delivery, input.allowPrivateNetworks),
  );
  return delivered.then(
    () => input.observe.pushDelivered('delivered'),
    async (error: unknown) => {
      input.log.warn(
        { task: delivery.taskId, config: delivery.id, attempts: delivery.attempts + 1, err: error },
        'push notification failed; will retry',
      );
      input.observe.pushDelivered(delivery.attempts + 1 >= MAX_WEBHOOK_ATTEMPTS ? 'gave_up' : 'failed');
      await deferAfterFailure(input.db, delivery, error);
    },
  );
}

/** One pass, awaited to its end: posts the current state of every changed task to its webhooks (at most `batch`). */
export async function dispatchPushNotifications(input: DispatchInput & { batch: number }): Promise<number> {
  const due = await claimDue(input.db, { limit: input.batch, perOrg: PUSH_IN_FLIGHT_PER_ORG, inFlightByOrg: new Map() });
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
      const due = await claimDue(input.db, { limit: PUSH_IN_FLIGHT - running.size, perOrg: PUSH_IN_FLIGHT_PER_ORG, inFlightByOrg });
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
