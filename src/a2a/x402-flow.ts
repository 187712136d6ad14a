/*
 * The a2a-x402 extension v0.2 (google-agentic-commerce/a2a-x402 spec/v0.2, docs/adr/0023), standalone
 * flow: a call sent without an API key by a client that activated the extension is answered with a
 * task in `input-required` asking for an x402 payment (an offer, kept in `x402_offers`); the
 * client pays on that task with `payment-submitted`, and the call runs and settles through the same
 * `payForCall` as a call paid over HTTP. The wire generations render the views this returns.
 */

import { randomUUID } from 'node:crypto';
import type { PaymentRequirements, SettleResponse } from '@x402/core/types';
import { InvalidInput, PaymentRefused, TaskNotFound, UnsupportedOperation } from '../domain/errors.js';
import { type Message, type Metadata, placedIn, type TaskMetadata, type TaskState, type TaskView } from '../domain/task-model.js';
import { readToolCall, type ToolCall } from '../tasks/tool-call.js';
import { toTaskView } from '../tasks/view.js';
import { displayUsdc } from '../tools/money.js';
import { failOffer, findOffer, insertOffer, type Offer, offerTask, takeOffer } from '../x402/offers.js';
import { type PaidCallOutcome, payForCall, type X402CallContext } from '../x402/pay-call.js';
import { X402_META } from './x402-extension.js';

/** What an x402 send needs: a call paid per call, plus where the offer points and how long it stays open. */
export interface X402SendContext extends X402CallContext {
  /** the A2A endpoint's URL: the resource a payment is for */
  readonly resourceUrl: string;
  readonly offerTtlS: number;
}

/** How long a client may take to pay and be answered: the tool's timeout, with a minute for signing and settling. */
function maxTimeoutSeconds(ctx: X402SendContext, call: ToolCall): number {
  return Math.ceil((call.tool.timeoutMs ?? ctx.toolTimeoutMs) / 1000) + 60;
}

/**
 * A message/send (0.3) or SendMessage (1.0) without an API key from a client that activated the
 * extension: a new call is offered for payment; a message on an offered task pays for it
 * (`payment-submitted`) or declines it (`payment-rejected`).
 */
export async function sendPayingWithX402(ctx: X402SendContext, input: { message: Message; historyLength?: number }): Promise<TaskView> {
  const { message } = input;
  const status = message.metadata?.[X402_META.status];
  if (message.taskId === undefined) {
    if (status === 'payment-submitted' || status === 'payment-rejected') {
      throw new InvalidInput('x402_task_missing', `a message with ${X402_META.status} "${status}" names the task it answers (taskId)`);
    }
    return offerCall(ctx, message, input.historyLength);
  }
  if (status === 'payment-submitted') return payOffer(ctx, message, message.taskId, input.historyLength);
  if (status === 'payment-rejected') return rejectOffer(ctx, message, message.taskId, input.historyLength);
  if (!(await findOffer(ctx.db, message.taskId))) throw new TaskNotFound(message.taskId);
  throw new InvalidInput(
    'x402_status_missing',
    `a task waiting for payment takes a message with ${X402_META.status} "payment-submitted" (and ${X402_META.payload}) or "payment-rejected"`,
    { taskId: message.taskId },
  );
}

/** The call offered for payment: an `input-required` task whose status message carries the x402 PaymentRequired. */
async function offerCall(ctx: X402SendContext, message: Message, historyLength: number | undefined): Promise<TaskView> {
  const call = readToolCall(message, ctx.tools);
  if (!call) {
    throw new InvalidInput(
      'no_tool_call',
      'a call paid with x402 carries one tool call, {"tool": "<name>", "arguments": {...}} in a data part',
    );
  }
  if (call.tool.costMicroUsdc === 0n) {
    throw new InvalidInput('free_tool', `${call.tool.name} is free: call it with an API key`, { tool: call.tool.name });
  }
  const taskId = randomUUID();
  const contextId = message.contextId ?? randomUUID();
  const requirements = ctx.x402.requirementsFor(call.tool.costMicroUsdc, maxTimeoutSeconds(ctx, call));
  const paymentRequired = ctx.x402.paymentRequired(requirements, {
    url: ctx.resourceUrl,
    description: `${call.tool.name} ${call.tool.version}: ${call.tool.description}`.slice(0, 500),
  });
  const offer = await insertOffer(ctx.db, {
    taskId,
    contextId,
    message: placedIn(message, taskId, contextId),
    tool: call.tool.name,
    paymentRequired,
    ttlSeconds: ctx.offerTtlS,
  });
  const price = call.tool.costMicroUsdc;
  const statusMessage = agentMessage(
    offer,
    'payment-required',
    `${call.tool.name} costs ${displayUsdc(price)} (${price} USDC base units, paid to ${requirements.payTo} on ${requirements.network}): ` +
      `sign the x402 payment in ${X402_META.required} and send it on this task with ${X402_META.status} "payment-submitted" ` +
      `and ${X402_META.payload}, before ${offer.expires_at}.`,
    { [X402_META.required]: paymentRequired },
  );
  return offerView(offer, 'input-required', statusMessage, [offer.message], historyLength, {
    tool: call.tool.name,
    tool_version: call.tool.version,
    cost: price,
  });
}

/**
 * A payment for an offered task: the offer is taken once (a second submission finds it taken),
 * the payment read, and the call paid for and run. A payment refused before the call ran fails the
 * task with the refusal's code and a receipt that says nothing was settled (spec §9).
 */
async function payOffer(ctx: X402SendContext, message: Message, taskId: string, historyLength: number | undefined): Promise<TaskView> {
  const offer = await takeOffer(ctx.db, taskId, 'paid');
  if (!offer) throw await notOpen(ctx, taskId);
  const history = [offer.message, placedIn(message, offer.task_id, offer.context_id)];
  const requirements = offer.payment_required.accepts[0] as PaymentRequirements;
  let paid: PaidCallOutcome;
  try {
    const payment = ctx.x402.parse(message.metadata?.[X402_META.payload]);
    const call = readToolCall(offer.message, ctx.tools);
    if (!call) throw new Error('an x402 offer without a tool call');
    paid = await payForCall({
      ctx,
      input: { call, taskId: offer.task_id, contextId: offer.context_id, history, payment, requirements },
    });
  } catch (error) {
    if (error instanceof PaymentRefused) {
      await failOffer(ctx.db, taskId);
      return refusedView(offer, history, error, requirements, historyLength);
    }
    // the tool refused its arguments (an unknown agent): its failed task was written, nothing was settled
    const written = error instanceof InvalidInput && error.details.taskId === offer.task_id ? await offerTask(ctx.db, taskId) : undefined;
    if (!written) {
      await failOffer(ctx.db, taskId);
      throw error;
    }
    paid = { outcome: 'failed', task: written };
  }
  const view = toTaskView(paid.task, historyLength === undefined ? {} : { historyLength });
  switch (paid.outcome) {
    case 'completed':
      return withStatusMessage(
        view,
        agentMessage(offer, 'payment-completed', `Payment settled (${paid.receipt.transaction}); the answer is the task's artifact.`, {
          [X402_META.receipts]: [paid.receipt],
        }),
      );
    case 'failed':
      await failOffer(ctx.db, taskId);
      return withPaymentMetadata(view, offer, { [X402_META.status]: 'payment-failed', [X402_META.receipts]: [] });
    case 'unsettled':
      await failOffer(ctx.db, taskId);
      return withPaymentMetadata(view, offer, {
        [X402_META.status]: 'payment-failed',
        [X402_META.error]: paid.refusal.code,
        [X402_META.receipts]: [paid.receipt],
      });
  }
}

/** The client declined to pay: the offer is closed and the task canceled. */
async function rejectOffer(ctx: X402SendContext, message: Message, taskId: string, historyLength: number | undefined): Promise<TaskView> {
  const offer = await takeOffer(ctx.db, taskId, 'rejected');
  if (!offer) throw await notOpen(ctx, taskId);
  const history = [offer.message, placedIn(message, offer.task_id, offer.context_id)];
  const statusMessage = agentMessage(offer, 'payment-rejected', 'Payment declined: the call was not run and nothing was paid.');
  return offerView(offer, 'canceled', statusMessage, history, historyLength, priceOf(offer));
}

/** Why a message cannot pay for the task it names: unknown, expired, or taken already. */
async function notOpen(ctx: X402SendContext, taskId: string): Promise<Error> {
  const offer = await findOffer(ctx.db, taskId);
  if (!offer) return new TaskNotFound(taskId);
  if (offer.status === 'open') {
    return new UnsupportedOperation(
      'payment_offer_expired',
      `the payment asked for task ${taskId} expired at ${offer.expires_at}: send the call again`,
      { taskId, expiresAt: offer.expires_at },
    );
  }
  const state: TaskState =
    offer.status === 'rejected'
      ? 'canceled'
      : offer.status === 'failed'
        ? 'failed'
        : ((await offerTask(ctx.db, taskId))?.state ?? 'working');
  return new UnsupportedOperation('task_not_accepting_input', `Task ${taskId} is ${state} and takes no more messages`, { taskId, state });
}

function agentMessage(offer: Offer, status: string, text: string, metadata: Metadata = {}): Message {
  return {
    messageId: `${offer.task_id}-${status}`,
    role: 'agent',
    taskId: offer.task_id,
    contextId: offer.context_id,
    parts: [{ kind: 'text', text }],
    metadata: { [X402_META.status]: status, ...metadata },
  };
}

function withStatusMessage(view: TaskView, statusMessage: Message): TaskView {
  return { ...view, statusMessage };
}

/** A failed task's own status message (its failure), with the payment's metadata on it. */
function withPaymentMetadata(view: TaskView, offer: Offer, metadata: Metadata): TaskView {
  const told = view.statusMessage ?? agentMessage(offer, 'payment-failed', 'The call failed; nothing was paid.');
  return withStatusMessage(view, { ...told, metadata: { ...told.metadata, ...metadata } });
}

/** A refusal before the call ran: no task was written (no organization is known), so the view is the offer's. */
function refusedView(
  offer: Offer,
  history: Message[],
  refusal: PaymentRefused,
  requirements: PaymentRequirements,
  historyLength: number | undefined,
): TaskView {
  const receipt: SettleResponse = {
    success: false,
    errorReason: refusal.x402Reason ?? refusal.reason,
    transaction: '',
    network: requirements.network as SettleResponse['network'],
  };
  const statusMessage: Message = {
    ...agentMessage(offer, 'payment-failed', `Payment failed: ${refusal.message}`, {
      [X402_META.error]: refusal.code,
      [X402_META.receipts]: [receipt],
    }),
  };
  statusMessage.parts.push({
    kind: 'data',
    data: { error: { reason: refusal.reason, message: refusal.message, details: refusal.details } },
  });
  return offerView(offer, 'failed', statusMessage, history, historyLength, priceOf(offer));
}

function priceOf(offer: Offer): { tool: string; cost: bigint } {
  const amount = offer.payment_required.accepts[0]?.amount ?? '0';
  return { tool: offer.tool, cost: /^\d{1,30}$/.test(amount) ? BigInt(amount) : 0n };
}

/** A task that lives only as an offer (asked for, declined, or refused before it ran), in the shape every task has. */
function offerView(
  offer: Offer,
  state: TaskState,
  statusMessage: Message,
  history: Message[],
  historyLength: number | undefined,
  call: { tool: string; tool_version?: string; cost: bigint },
): TaskView {
  const metadata: TaskMetadata = {
    tool: call.tool,
    ...(call.tool_version ? { tool_version: call.tool_version } : {}),
    cost_micro_usdc: call.cost.toString(),
    cost_display: displayUsdc(call.cost),
    charged: false,
  };
  return {
    id: offer.task_id,
    contextId: offer.context_id,
    state,
    timestamp: state === 'input-required' ? offer.created_at : new Date().toISOString(),
    statusMessage,
    artifacts: [],
    history: historyLength === undefined ? history : historyLength === 0 ? [] : history.slice(-historyLength),
    metadata,
  };
}
