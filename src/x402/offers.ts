import type { PaymentRequired } from '@x402/core/types';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { isoUtc } from '../db/sql.js';
import { stringifyJson } from '../domain/json-text.js';
import { type Message, MessageSchema } from '../domain/task-model.js';
import { isTaskId, TASK_COLUMNS, type TaskRow, TaskRowSchema } from '../tasks/store.js';

/**
 * The A2A tasks waiting for an x402 payment (a2a-x402 v0.2): the call a client sent without an API
 * key, and what was asked for it. No organization exists yet, so they live here and not in
 * `tasks`; the payment's wallet decides whose task the call becomes.
 */
export type OfferStatus = 'open' | 'paid' | 'rejected' | 'failed';

const OfferRow = z.object({
  task_id: z.string(),
  context_id: z.string(),
  message: MessageSchema,
  tool: z.string(),
  payment_required: z.custom<PaymentRequired>((value) => typeof value === 'object' && value !== null),
  status: z.string(),
  created_at: z.string(),
  expires_at: z.string(),
  expired: z.boolean(),
});
export type Offer = z.output<typeof OfferRow>;

const OFFER_COLUMNS = sql`task_id, context_id, message, tool, payment_required, status,
  ${isoUtc(sql`created_at`)} as created_at, ${isoUtc(sql`expires_at`)} as expires_at, expires_at <= now() as expired`;

export async function insertOffer(
  db: Database,
  offer: { taskId: string; contextId: string; message: Message; tool: string; paymentRequired: PaymentRequired; ttlSeconds: number },
): Promise<Offer> {
  const [row] = await db.rows(
    OfferRow,
    sql`
    insert into x402_offers (task_id, context_id, message, tool, payment_required, expires_at)
    values (${offer.taskId}, ${offer.contextId}, ${stringifyJson(offer.message)}::jsonb, ${offer.tool},
            ${stringifyJson(offer.paymentRequired)}::jsonb, now() + make_interval(secs => ${offer.ttlSeconds}))
 returning ${OFFER_COLUMNS}`,
  );
  if (!row) throw new Error('the x402 offer was not written');
  return row;
}

/**
 * Takes an open, unexpired offer for good, marking it `paid` (a payment was submitted for it) or
 * `rejected`: one statement, so of two submissions for one task only one gets the offer.
 * Undefined when the offer is unknown, expired, or was taken already.
 */
export async function takeOffer(db: Database, taskId: string, status: 'paid' | 'rejected'): Promise<Offer | undefined> {
  if (!isTaskId(taskId)) return undefined;
  const [row] = await db.rows(
    OfferRow,
    sql`
    update x402_offers set status = ${status}
     where task_id = ${taskId} and status = 'open' and expires_at > now()
 returning ${OFFER_COLUMNS}`,
  );
  return row;
}

/** An offer whatever its status: why one could not be taken. */
export async function findOffer(db: Database, taskId: string): Promise<Offer | undefined> {
  if (!isTaskId(taskId)) return undefined;
  const [row] = await db.rows(OfferRow, sql`select ${OFFER_COLUMNS} from x402_offers where task_id = ${taskId}`);
  return row;
}

/** An offer taken for a payment that was refused before the call ran: it takes no other. */
export async function failOffer(db: Database, taskId: string): Promise<void> {
  await db.run(sql`update x402_offers set status = 'failed' where task_id = ${taskId} and status = 'paid'`);
}

/** The task an offer's payment wrote (its id is the offer's), in whichever organization the payer's wallet is. */
export async function offerTask(db: Database, taskId: string): Promise<TaskRow | undefined> {
  if (!isTaskId(taskId)) return undefined;
  const [row] = await db.rows(TaskRowSchema, sql`select ${TASK_COLUMNS} from tasks where id = ${taskId}`);
  return row;
}

/** Offers kept this long past their expiry (an unpaid one answers `payment_offer_expired` meanwhile), then deleted. */
const OFFER_RETENTION = sql`interval '1 day'`;

/** Deletes offers long expired, paid or not: what a paid one led to is its task. Returns how many. */
export async function purgeExpiredOffers(db: Database): Promise<number> {
  const rows = await db.rows(
    z.object({ task_id: z.string() }),
    sql`delete from x402_offers where task_id = any(array(
          select task_id from x402_offers where expires_at < now() - ${OFFER_RETENTION} limit 1000)) returning task_id`,
  );
  return rows.length;
}
