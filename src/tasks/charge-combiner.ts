import { chargeCalls } from '../billing/charges.js';
import { type SpendPeriods, spendPeriodsAt } from '../billing/spend-caps.js';
import type { Database } from '../db/client.js';
import { type BoundStatement, StatementTemplate } from '../db/statement.js';
import { inSpan, type SpanOrigin, spanOrigin } from '../tracing/spans.js';
import {
  type AnsweredCall,
  answeredCallRows,
  answeredCallsJson,
  callMessageIdUnused,
  insertCompletedTasksFromPaid,
  type WrittenTask,
  WrittenTaskSchema,
} from './store.js';

/**
 * Statements in flight at once: a second one is built and sent while the first commits, so a call
 * waits for at most part of one statement; more would only split the groups smaller.
 */
const STATEMENTS_IN_FLIGHT = 2;
/** Bounds one statement's size (10 parameters a call). */
const MAX_CALLS_PER_STATEMENT = 100;

/** The charge statement (billing/charges.ts) over answered calls for a database of `kind`, rendered once: only its calls and dates change. */
const chargeTemplate = (kind: Database['kind']) =>
  new StatementTemplate<'calls' | 'day' | 'month'>((slot) =>
    chargeCalls({
      calls: answeredCallRows(slot('calls')),
      periods: { day: slot('day'), month: slot('month') },
      messageIdUnused: callMessageIdUnused(kind),
      taskWrite: insertCompletedTasksFromPaid,
    }),
  );
const CHARGE = { postgres: chargeTemplate('postgres'), pglite: chargeTemplate('pglite') } as const;

/** The one statement that pays for `calls` and records their tasks completed, counting the spend in `periods`, on a database of `kind`. */
export function chargeStatement(calls: readonly AnsweredCall[], periods: SpendPeriods, kind: Database['kind']): BoundStatement {
  return CHARGE[kind].bind({ calls: answeredCallsJson(calls), day: periods.day, month: periods.month });
}

export interface ChargeCombiner {
  /**
   * Pays for one answered instant call and records its task completed. Resolves with the task as
   * written, or undefined when nothing was charged: its messageId was used already, or the credit
   * was short. Rejects with the database's error for this call alone (a unique violation means a
   * duplicate messageId): a failure of a statement it shared fails no other call.
   */
  charge(call: AnsweredCall): Promise<WrittenTask | undefined>;
}

interface Waiting {
  call: AnsweredCall;
  /** the call's span, the statement span's parent or one of its links (undefined when tracing is off) */
  origin: SpanOrigin | undefined;
  resolve(row: WrittenTask | undefined): void;
  reject(error: unknown): void;
}

/**
 * Charges go to the database in at most STATEMENTS_IN_FLIGHT statements at once; calls that answer
 * while those run wait and go together in the next one (src/billing/charges.ts): one commit, and
 * one update per account, for many calls — group commit, done where the calls are known. A call
 * that finds a free slot goes at once, so waiting only replaces the row-lock and commit queue it
 * would have stood in anyway. Holds no state beyond calls in flight, so instances need not know of
 * each other.
 */
/** `clock` tells the UTC day and month each charge statement counts its spend in. */
export function createChargeCombiner(db: Database, clock: () => Date = () => new Date()): ChargeCombiner {
  /** calls waiting for a statement slot */
  const pending: Waiting[] = [];
  let inFlight = 0;

  /**
   * One statement for `batch`. Its span is a child of the first call's span and links the others':
   * a span has one parent, and the statement belongs to each call's trace alike. Prepared on
   * PostgreSQL, its generic plan cached per connection: the messageId lookups it holds are planned
   * apart, at each execution (`task_using_message_id`, docs/adr/0018-prepared-charge.md).
   */
  const statement = (batch: Waiting[]) =>
    inSpan(
      'charge statement',
      { 'charge.calls': batch.length },
      () =>
        db.rows(
          WrittenTaskSchema,
          chargeStatement(
            batch.map((entry) => entry.call),
            spendPeriodsAt(clock()),
            db.kind,
          ),
        ),
      { origins: batch.map((entry) => entry.origin) },
    );

  async function run(batch: Waiting[]): Promise<void> {
    try {
      const rows = await statement(batch);
      const written = new Map(rows.map((row) => [row.id, row]));
      for (const entry of batch) entry.resolve(written.get(entry.call.id));
    } catch (error) {
      if (batch.length > 1) {
        // One call the database refuses fails the whole statement, with every other call in it, of
        // other organizations too: a messageId taken meanwhile (by another instance, or a held
        // call), or a value the database cannot store or index. The group is split in halves and
        // each half charged again, down to single calls, so only the call that caused it fails (a
        // few statements, not one per call). A statement is atomic, so nothing of the group was
        // written; a call whose statement did commit before its connection dropped finds its
        // messageId used and is answered with its task, not charged again.
        const half = Math.ceil(batch.length / 2);
        await run(batch.slice(0, half));
        await run(batch.slice(half));
        return;
      }
      batch[0]?.reject(error);
    }
  }

  async function drain(): Promise<void> {
    inFlight += 1;
    while (pending.length > 0) await run(pending.splice(0, MAX_CALLS_PER_STATEMENT));
    inFlight -= 1;
  }

  return {
    charge: (call) =>
      new Promise((resolve, reject) => {
        pending.push({ call, origin: spanOrigin(), resolve, reject });
        // Stryker disable next-line EqualityOperator: how many statements run at once changes the groups' sizes, never what each call is charged
        if (inFlight < STATEMENTS_IN_FLIGHT) void drain();
      }),
  };
}
