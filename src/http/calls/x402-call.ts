import { randomUUID } from 'node:crypto';
import { decodePaymentSignatureHeader, encodePaymentRequiredHeader, encodePaymentResponseHeader } from '@x402/core/http';
import type { PaymentRequirements } from '@x402/core/types';
import type { Context, MiddlewareHandler } from 'hono';
import { PaymentRefused } from '../../domain/errors.js';
import type { Message, TaskView } from '../../domain/task-model.js';
import type { RateLimiter } from '../../limits/rate-limiter.js';
import { readToolCall, type ToolCall } from '../../tasks/tool-call.js';
import { toTaskView } from '../../tasks/view.js';
import { paidCallHistory, payForCall, type X402CallContext } from '../../x402/pay-call.js';
import type { X402Payments } from '../../x402/payments.js';
import { ApiError } from '../api-errors.js';
import type { AppEnv } from '../env.js';
import { type PaidCallDeps, x402CallContext } from '../paid-call-context.js';
import { takeX402Allowance } from '../x402-rate-limit.js';

/** A PAYMENT-SIGNATURE header is a few hundred bytes of base64; this bounds what is decoded. */
const MAX_PAYMENT_HEADER = 8 * 1024;

/**
 * Before a paid call's key check: a request with no Authorization header, on a gateway that takes
 * x402, is to be paid per call (docs/adr/0023); it skips the key check and the key's rate limits (a
 * payment sent counts against its client address's limit instead), and the handler asks for, or
 * takes, a payment.
 */
export function payableWithoutKey(x402: X402Payments | undefined, rateLimiter: RateLimiter): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (x402 && c.req.header('authorization') === undefined) {
      c.set('payingWithX402', true);
      // a payment checked costs chain reads: one client address sends so many a minute
      const decision = c.req.header('payment-signature') === undefined ? undefined : await takeX402Allowance(c, x402, rateLimiter);
      if (decision && !decision.allowed) {
        throw new ApiError(
          'rate_limited',
          `too many x402 payments from this address; try again in ${decision.retryAfterSeconds} s`,
          'payment_rate',
          {
            retryAfterSeconds: decision.retryAfterSeconds,
          },
        );
      }
    }
    await next();
  };
}

/** What a call paid per call over HTTP needs besides the paid-call deps. */
export interface X402CallDeps extends PaidCallDeps {
  x402: X402Payments;
  publicUrl: string | undefined;
}

/** The task a paid call ended with, and its PAYMENT-RESPONSE when it settled. */
export interface X402CallAnswer {
  view: TaskView;
  paymentResponse: string | undefined;
}

/** How long a client may take to pay and be answered: the tool's timeout, with a minute for signing and settling. */
function maxTimeoutSeconds(call: ToolCall, deps: PaidCallDeps): number {
  return Math.ceil((call.tool.timeoutMs ?? deps.toolTimeoutMs) / 1000) + 60;
}

/**
 * POST /v1/tools/{name}/call without an API key (x402 v2 over HTTP): without PAYMENT-SIGNATURE,
 * 402 with PAYMENT-REQUIRED (the tool's price as an `exact` USDC payment to the treasury); with
 * it, the payment is verified, the tool runs, and only an answer is settled and booked, answered
 * with PAYMENT-RESPONSE. A payment refused is 402 again, saying why (the a2a-x402 code as the
 * reason); a tool that failed is 502 and settles nothing; a settlement that failed is 402 with
 * PAYMENT-RESPONSE (success false) and withholds the answer.
 */
export async function callPayingWithX402(
  c: Context<AppEnv>,
  deps: X402CallDeps,
  input: { message: Message; observe: X402CallContext['observe'] },
): Promise<X402CallAnswer> {
  const call = readToolCall(input.message, deps.tools);
  if (!call) throw new Error('a tool call message without a tool call');
  if (call.tool.costMicroUsdc === 0n) {
    throw new ApiError('unauthorized', `${call.tool.name} is free: call it with an API key`, 'missing_api_key');
  }
  const requirements = deps.x402.requirementsFor(call.tool.costMicroUsdc, maxTimeoutSeconds(call, deps));
  const header = c.req.header('payment-signature');
  if (header === undefined) throw paymentRequired(c, deps, call, requirements);
  let payment: ReturnType<X402Payments['parse']>;
  try {
    if (header.length > MAX_PAYMENT_HEADER) throw new Error('too long');
    payment = deps.x402.parse(decodePaymentSignatureHeader(header));
  } catch (error) {
    const refusal =
      error instanceof PaymentRefused
        ? error
        : new PaymentRefused('INVALID_SIGNATURE', 'PAYMENT-SIGNATURE is not the base64 of an x402 payment', 'invalid_payload');
    throw paymentRequired(c, deps, call, requirements, refusal);
  }
  const taskId = randomUUID();
  const contextId = randomUUID();
  const ctx = x402CallContext(c, deps, input.observe, deps.x402);
  let paid: Awaited<ReturnType<typeof payForCall>>;
  try {
    paid = await payForCall({
      ctx,
      input: { call, taskId, contextId, history: paidCallHistory(input.message, taskId, contextId), payment, requirements },
    });
  } catch (error) {
    if (error instanceof PaymentRefused) throw paymentRequired(c, deps, call, requirements, error);
    throw error;
  }
  if (paid.outcome === 'unsettled') {
    c.header('PAYMENT-RESPONSE', encodePaymentResponseHeader(paid.receipt));
    throw new ApiError('payment_required', paid.refusal.message, paid.refusal.reason, paid.refusal.details);
  }
  return {
    view: toTaskView(paid.task, { historyLength: 0 }),
    paymentResponse: paid.outcome === 'completed' ? encodePaymentResponseHeader(paid.receipt) : undefined,
  };
}

/**
 * The 402 to throw: what would pay for the call (the PAYMENT-REQUIRED header, set here, which the
 * error's answer keeps), and why the payment sent did not, when one was.
 */
function paymentRequired(
  c: Context<AppEnv>,
  deps: X402CallDeps,
  call: ToolCall,
  requirements: PaymentRequirements,
  refusal?: PaymentRefused,
): ApiError {
  const url = `${deps.publicUrl?.replace(/\/$/, '') ?? new URL(c.req.url).origin}${new URL(c.req.url).pathname}`;
  const required = deps.x402.paymentRequired(
    requirements,
    { url, description: `${call.tool.name} ${call.tool.version}: ${call.tool.description}`.slice(0, 500) },
    refusal?.message,
  );
  c.header('PAYMENT-REQUIRED', encodePaymentRequiredHeader(required));
  return new ApiError(
    'payment_required',
    refusal?.message ?? 'this call is paid per call: send PAYMENT-SIGNATURE (x402 v2) or an API key',
    refusal?.reason ?? 'payment_required',
    {
      ...refusal?.details,
      amount: requirements.amount,
      asset: requirements.asset,
      network: requirements.network,
      payTo: requirements.payTo,
    },
  );
}
