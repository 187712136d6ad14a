import { randomBytes } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ABSENT, type Actor, auditInsert } from '../audit/record.js';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';
import { MAX_WEBHOOK_ATTEMPTS, postWebhook, retryDelaySeconds } from '../webhooks/webhook.js';

const LowBalanceSettingsRow = z.object({
  threshold: z.bigint(),
  webhookUrl: z.string().nullable(),
  below: z.boolean(),
  crossedAt: z.string().nullable(),
  lastError: z.string().nullable(),
});
export type LowBalanceSettings = z.output<typeof LowBalanceSettingsRow>;

const SetLowBalanceRow = LowBalanceSettingsRow.extend({ secret: z.string().nullable() });

const SETTINGS = sql`threshold, webhook_url as "webhookUrl", below, ${isoUtc(sql`crossed_at`)} as "crossedAt", last_error as "lastError"`;

/** An alert as the audit trail shows it, from a row of low_balance_alerts named `row`: threshold and webhook, never its secret. */
function alertView(row: string): SQL {
  const alert = sql.identifier(row);
  return sql`jsonb_build_object('thresholdMicroUsdc', ${alert}.threshold::text, 'webhookUrl', ${alert}.webhook_url)`;
}

/**
 * Sets the threshold (and webhook), with its `alert.set` audit row in the same statement; a new
 * webhook gets a new signing secret, returned here only. The audit row's `before` is the alert
 * under its row lock, so of two settings at once the second's `before` is the first's `after`;
 * only when two first settings race is there no row to lock, and the second's `before` is null
 * although it replaced the first (the trail still holds both, in order).
 */
export async function setLowBalanceAlert(
  db: Database,
  input: { orgId: string; threshold: bigint; webhookUrl: string | null; by: Actor },
): Promise<LowBalanceSettings & { secret: string | null }> {
  const secret = input.webhookUrl ? randomBytes(24).toString('base64url') : null;
  const [row] = await db.rows(
    SetLowBalanceRow,
    sql`
    with previous as (
      select threshold, webhook_url from low_balance_alerts where org_id = ${input.orgId} for update
    ), saved as (
      -- reads previous first, so its lock is taken before the upsert changes the row (a row this
      -- statement has changed can no longer be locked by it: it would read as none)
      insert into low_balance_alerts (org_id, threshold, webhook_url, secret)
      select ${input.orgId}::uuid, ${input.threshold}::int8, ${input.webhookUrl}::text, ${secret}::text
        from (values (1)) as one (n) left join previous on true
      on conflict (org_id) do update
         set threshold = excluded.threshold, webhook_url = excluded.webhook_url, secret = excluded.secret,
             pending = false, attempts = 0, last_error = null, updated_at = now()
      returning org_id, threshold, webhook_url, below, crossed_at, last_error, secret
    ), audit as (${auditInsert(input.by, {
      action: 'alert.set',
      from: sql`saved`,
      orgId: sql`saved.org_id`,
      target: { kind: 'low_balance_alert', id: sql`saved.org_id` },
      before: sql`(select ${alertView('previous')} from previous)`,
      after: alertView('saved'),
    })})
    select ${SETTINGS}, secret from saved`,
  );
  // Stryker disable next-line StringLiteral: an upsert … returning always returns its row; the message is for the impossible
  if (!row) throw new Error('low-balance alert upsert returned no row');
  return row;
}

export async function getLowBalanceAlert(db: Database, orgId: string): Promise<LowBalanceSettings | undefined> {
  const [row] = await db.rows(LowBalanceSettingsRow, sql`select ${SETTINGS} from low_balance_alerts where org_id = ${orgId}`);
  return row;
}

const DeletedRow = z.object({ org_id: z.string() });

/** Removes the alert, with its `alert.delete` audit row in the same statement; false when none was set. */
export async function deleteLowBalanceAlert(db: Database, input: { orgId: string; by: Actor }): Promise<boolean> {
  const deleted = await db.rows(
    DeletedRow,
    sql`
    with removed as (
      delete from low_balance_alerts where org_id = ${input.orgId} returning org_id, threshold, webhook_url
    ), audit as (${auditInsert(input.by, {
      action: 'alert.delete',
      from: sql`removed`,
      orgId: sql`removed.org_id`,
      target: { kind: 'low_balance_alert', id: sql`removed.org_id` },
      before: alertView('removed'),
      after: ABSENT,
    })})
    select org_id from removed`,
  );
  return deleted.length > 0;
}

/**
 * Records crossings since the last look: an account whose available credit went under its
 * threshold becomes `below` and, with a webhook, owes one POST; one back at or over it stops
 * being `below`, ready for the next crossing.
 */
async function recordCrossings(db: Database): Promise<void> {
  await db.run(sql`
    update low_balance_alerts l
       set below = c.balance - c.reserved < l.threshold,
           pending = case when c.balance - c.reserved < l.threshold then l.webhook_url is not null else false end,
           attempts = 0, next_attempt_at = now(),
           crossed_at = case when c.balance - c.reserved < l.threshold then now() else l.crossed_at end,
           updated_at = now()
      from credit_accounts c
     where c.org_id = l.org_id and (c.balance - c.reserved < l.threshold) <> l.below`);
}

/** A notice owed: pending is only ever set with a webhook, which always comes with its secret. */
const OwedRow = z.object({
  orgId: z.string(),
  webhookUrl: z.string(),
  secret: z.string(),
  threshold: z.bigint(),
  available: z.bigint(),
  crossedAt: z.string(),
  attempts: z.number(),
});

/** One pass: records crossings, then posts each owed low-balance notice (signed), retrying with backoff. */
export async function signalLowBalances(input: { db: Database; log: Logger; allowPrivateNetworks: boolean }): Promise<number> {
  await recordCrossings(input.db);
  const owed = await input.db.rows(
    OwedRow,
    sql`
    update low_balance_alerts l set next_attempt_at = now() + interval '60 seconds'
      from credit_accounts c
     where c.org_id = l.org_id and l.pending and l.next_attempt_at <= now() and l.attempts < ${MAX_WEBHOOK_ATTEMPTS}
 returning l.org_id as "orgId", l.webhook_url as "webhookUrl", l.secret, l.threshold, c.balance - c.reserved as available,
           ${isoUtc(sql`l.crossed_at`)} as "crossedAt", l.attempts`,
  );
  for (const notice of owed) {
    const body = JSON.stringify({
      type: 'low_balance',
      orgId: notice.orgId,
      availableMicroUsdc: notice.available.toString(),
      thresholdMicroUsdc: notice.threshold.toString(),
      crossedAt: notice.crossedAt,
    });
    try {
      await postWebhook({
        url: notice.webhookUrl,
        body,
        signed: { header: 'x-a2a-paygate-signature', key: notice.secret },
        allowPrivateNetworks: input.allowPrivateNetworks,
      });
      await input.db.run(
        sql`update low_balance_alerts set pending = false, attempts = 0, last_error = null where org_id = ${notice.orgId}`,
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      input.log.warn({ org: notice.orgId, err: error }, 'low-balance webhook failed; will retry');
      await input.db.run(sql`
        update low_balance_alerts set attempts = attempts + 1, last_error = ${reason.slice(0, 500)},
               next_attempt_at = now() + make_interval(secs => ${retryDelaySeconds(notice.attempts)})
         where org_id = ${notice.orgId}`);
    }
  }
  return owed.length;
}
