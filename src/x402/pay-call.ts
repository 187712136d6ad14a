import { performance } from 'node:perf_hooks';
import type { PaymentRequirements, SettleResponse } from '@x402/core/types';
import { signInWallet } from '../auth/members.js';
import { bookX402Payment, claimAuthorization, failClaim, markSettledNotBooked, releaseClaim } from '../billing/x402-payments.js';
import { PaymentRefused, ToolInputError } from '../domain/errors.js';
import { type Message, placedIn } from '../domain/task-model.js';
import type { TaskRunContext } from '../tasks/context.js';
import { failureOf, logPaidCall, logToolFailure, runWithDeadline, toolTimeoutMs } from '../tasks/run-tool.js';
import { insertCompletedX402Task, insertFailedTask, type TaskRow, TaskRowSchema, writtenTaskRow } from '../tasks/store.js';
import { calledVersion, type ToolCall } from '../tasks/tool-call.js';
import type { ToolAnswer } from '../tools/types.js';
import type { ExactEvmPayment, X402Payments } from './payments.js';
import { SettlementFailed } from './payments.js';

/** What a call paid by x402 needs: no key and no organization; the payment's wallet decides whose the task is. */
export interface X402CallContext extends Omit<TaskRunContext, 'orgId'> {
  readonly x402: X402Payments;
  /** the request that paid, named in the audit row of an organization made for a new wallet */
  readonly requestId: string | null;
}

export type PaidCallOutcome =
  /** answered, settled and booked */
  | { outcome: 'completed'; task: TaskRow; receipt: SettleResponse }
  /** the tool failed: nothing settled, the authorization released unused */
  | { outcome: 'failed'; task: TaskRow }
  /** answered, but the settlement failed: the answer is withheld, the task failed */
  | { outcome: 'unsettled'; task: TaskRow; refusal: PaymentRefused; receipt: SettleResponse };

/** Books written after the transfer settled are retried this many times: the money has moved. */
const BOOK_ATTEMPTS = 5;

/**
 * One call paid with an x402 authorization (docs/adr/0023): verify it (nothing is claimed for a
 * payment that does not verify); claim it, so it pays for this call only, on any instance; run the
 * tool; and only when it answered, settle on-chain and book it (`x402_payment` + `charge`, and the
 * provider's earning) with the completed task in one statement. A tool that fails releases the
 * authorization unused; a settlement that fails withholds the answer and fails the task.
 *
 * The task belongs to the payer's organization: the one its wallet is a member of, or a new one it
 * owns (as at a first sign-in), so it can sign in later and see the call.
 */
export async function payForCall(request: Parameters<typeof payOnce>[0]): Promise<PaidCallOutcome> {
  try {
    return await payOnce(request);
  } catch (error) {
    if (error instanceof PaymentRefused) request.ctx.observe.x402Payment('refused');
    throw error;
  }
}

async function payOnce({
  ctx,
  input,
}: {
  ctx: X402CallContext;
  input: {
    call: ToolCall;
    /** the task's id (an A2A task named when payment was asked) */
    taskId: string;
    contextId: string;
    history: Message[];
    payment: ExactEvmPayment;
    requirements: PaymentRequirements;
  };
}): Promise<PaidCallOutcome> {
  const { call, payment, requirements } = input;
  if (requirements.amount !== call.tool.costMicroUsdc.toString()) {
    throw new PaymentRefused(
      'INVALID_AMOUNT',
      `the price of ${call.tool.name} is now ${call.tool.costMicroUsdc} base units, not the ${requirements.amount} offered: ask again`,
    );
  }
  requireValidThroughCall(payment, call, ctx);
  const verified = await ctx.x402.verify(payment, requirements);
  const { membership } = await signInWallet(ctx.db, verified.payer, ctx.requestId);
  const orgId = membership.orgId;
  const authorization = payment.payload.authorization;
  const claimId = await claimAuthorization(ctx.db, {
    network: requirements.network,
    asset: requirements.asset,
    payer: verified.payer,
    nonce: authorization.nonce,
    amount: verified.amount,
    orgId,
    taskId: input.taskId,
    tool: call.tool.name,
    validBefore: BigInt(authorization.validBefore),
  });
  if (claimId === undefined) {
    throw new PaymentRefused('DUPLICATE_NONCE', 'this authorization was used already (its nonce): sign a new one', 'nonce_claimed');
  }
  const runCtx = { ...ctx, orgId };
  const task = {
    id: input.taskId,
    keyId: null,
    contextId: input.contextId,
    // One task per offer of the authorization, not per nonce: a call whose tool failed released the
    // claim and left a failed task, and the same authorization may then pay for a call that answers.
    // Its task must not meet that one's (org, message_id): the insert, after the transfer settled,
    // would fail and leave the payment unbooked. The claim (x402_payments) is what pays once per nonce.
    messageId: `x402:${authorization.nonce.toLowerCase()}:${input.taskId}`,
    ...calledVersion(call, ctx.platformFeeBps),
    arguments: call.rawArguments,
    history: input.history,
  };
  const started = performance.now();
  let result: ToolAnswer;
  try {
    result = await runWithDeadline(runCtx, call, task.id);
  } catch (error) {
    await releaseClaim(ctx.db, claimId);
    ctx.observe.x402Payment('released');
    const failure = failureOf(error, toolTimeoutMs(runCtx, call));
    logToolFailure(runCtx, failure, error, task);
    const failed = await writeFailed(runCtx, call, { ...task, orgId }, failure, started);
    if (error instanceof ToolInputError) throw error.onTask(task.id);
    return { outcome: 'failed', task: failed };
  }
  const durationMs = Math.round(performance.now() - started);
  let receipt: SettleResponse;
  try {
    receipt = await ctx.x402.settle(payment, requirements);
  } catch (error) {
    if (!(error instanceof SettlementFailed)) throw error;
    ctx.observe.x402Payment('unsettled');
    await failClaim(ctx.db, claimId, {
      error: error.refusal.details.x402Reason ?? error.refusal.code,
      transaction: error.receipt.transaction || undefined,
    });
    ctx.log.warn(
      { task: task.id, code: error.refusal.code, reason: error.refusal.details.x402Reason, detail: error.refusal.message },
      'x402 settlement failed; answer withheld',
    );
    const failure = {
      reason: 'settlement_failed',
      message: `${error.refusal.message}; the answer is withheld and nothing was charged`,
      details: { code: error.refusal.code },
    };
    const failed = await writeFailed(runCtx, call, { ...task, orgId }, failure, started);
    return {
      outcome: 'unsettled',
      task: failed,
      refusal: new PaymentRefused(error.refusal.code, failure.message, error.refusal.details.x402Reason, task.id),
      receipt: error.receipt,
    };
  }
  const booked = await bookSettled(runCtx, claimId, receipt, { ...task, result, durationMs });
  ctx.observe.x402Payment('settled', task.cost);
  ctx.observe.charged(call.tool.name, task.cost);
  ctx.observe.toolCallEnded({ tool: call.tool.name, tier: call.tool.tier, outcome: 'completed', toolSeconds: durationMs / 1000 });
  logPaidCall(runCtx, booked, durationMs);
  return { outcome: 'completed', task: booked, receipt };
}

/** What settling takes past the tool's answer, the facilitator's own 6 s included. */
const SETTLE_MARGIN_S = 30;

/**
 * An authorization that would expire before the call could have answered and been settled is
 * refused before the tool runs: otherwise its answer would be made, then withheld when settlement
 * fails. x402 clients sign for the requirements' maxTimeoutSeconds, which leaves a minute more.
 */
function requireValidThroughCall(payment: ExactEvmPayment, call: ToolCall, ctx: X402CallContext): void {
  const needed = Math.ceil(Date.now() / 1000 + (call.tool.timeoutMs ?? ctx.toolTimeoutMs) / 1000 + SETTLE_MARGIN_S);
  const validBefore = BigInt(payment.payload.authorization.validBefore);
  if (validBefore < BigInt(needed)) {
    throw new PaymentRefused(
      'EXPIRED_PAYMENT',
      `the authorization expires before this call could answer and be settled: sign one valid until at least ${new Date(needed * 1000).toISOString()}`,
      'valid_before_too_soon',
    );
  }
}

type X402Task = Parameters<typeof insertCompletedX402Task>[0];

/**
 * Books a settled payment. The transfer has happened: a statement that fails is tried again, and
 * if it never succeeds the claim stays `claimed`, its transaction noted on it (`settled_not_booked`)
 * and logged; reconciliation (reconcile.ts) then credits the payer what moved (docs/adr/0023).
 */
async function bookSettled(ctx: TaskRunContext, claimId: bigint, receipt: SettleResponse, task: X402Task): Promise<TaskRow> {
  const reason = `x402 ${receipt.network}:${receipt.transaction}`;
  for (let attempt = 1; ; attempt++) {
    try {
      const [row] = await ctx.db.rows(
        TaskRowSchema,
        bookX402Payment({ claimId, transaction: receipt.transaction, reason, taskWrite: insertCompletedX402Task(task) }),
      );
      if (!row) throw new Error('the claim of a settled x402 payment was not the call’s any more');
      return { ...row, result: task.result };
    } catch (error) {
      ctx.log.error({ err: error, task: task.id, transaction: receipt.transaction, attempt }, 'x402 payment settled but not booked');
      if (attempt >= BOOK_ATTEMPTS) {
        await markSettledNotBooked(ctx.db, claimId, receipt.transaction).catch((marking: unknown) =>
          ctx.log.error(
            { err: marking, claim: claimId.toString(), transaction: receipt.transaction },
            'x402 claim not marked settled_not_booked',
          ),
        );
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

async function writeFailed(
  ctx: TaskRunContext,
  call: ToolCall,
  task: Omit<X402Task, 'result' | 'durationMs'> & { orgId: string; keyId: null },
  failure: { reason: string; message: string; details?: Record<string, unknown> },
  started: number,
): Promise<TaskRow> {
  const durationMs = Math.round(performance.now() - started);
  const written = await insertFailedTask(ctx.db, task, { failure, durationMs });
  if (!written) throw new Error('the failed task of an x402 call was not written');
  ctx.observe.toolCallEnded({ tool: call.tool.name, tier: call.tool.tier, outcome: 'failed', toolSeconds: durationMs / 1000 });
  const row = writtenTaskRow(written, task, { state: 'failed', result: null, error: failure, duration_ms: durationMs });
  logPaidCall(ctx, row, durationMs);
  return row;
}

/** The history of a call paid over HTTP: the call as an A2A client would have sent it. */
export function paidCallHistory(message: Message, taskId: string, contextId: string): Message[] {
  return [placedIn(message, taskId, contextId)];
}
