/**
 * What the domain (tasks, tools, billing, push configs) refuses, whatever surface asked. Each edge
 * maps these once to its own wire shape: a2a/errors.ts to JSON-RPC codes and data per A2A
 * generation, http/api-errors.ts to the REST envelope (docs/adr/0010). `reason` is the stable
 * refusal string every surface reports; `details` are the facts the caller needs, in the order the
 * wire shows them.
 */
export abstract class DomainError extends Error {
  /** which of the errors below: an edge switches on it, so one it does not map fails typecheck */
  abstract readonly kind: AnyDomainError['kind'];
  abstract readonly reason: string;
  abstract readonly details: Readonly<Record<string, unknown>>;
}

export type AnyDomainError =
  | TaskNotFound
  | TaskNotCancelable
  | CreditRefused
  | SpendCapExceeded
  | ToolNotAllowed
  | UnsupportedOperation
  | InvalidInput
  | PaymentRefused;

export function isDomainError(error: unknown): error is AnyDomainError {
  return error instanceof DomainError;
}

/** No task of that id in the caller's organization (another organization's task included). */
export class TaskNotFound extends DomainError {
  readonly kind = 'task_not_found';
  readonly reason = 'task_not_found';
  readonly details: { taskId: string };
  constructor(readonly taskId: string) {
    super('Task not found');
    this.name = 'TaskNotFound';
    this.details = { taskId };
  }
}

/** The task has ended (or ended while it was being canceled): it cannot be canceled. */
export class TaskNotCancelable extends DomainError {
  readonly kind = 'task_not_cancelable';
  readonly reason = 'task_not_cancelable';
  readonly details: { taskId: string; state: string };
  constructor(taskId: string, state: string) {
    super(`Task cannot be canceled: it is ${state}`);
    this.name = 'TaskNotCancelable';
    this.details = { taskId, state };
  }
}

/**
 * The call cannot be paid: `available` null means the organization has no credit account at all.
 * Amounts are micro-USDC.
 */
export class CreditRefused extends DomainError {
  readonly kind = 'credit_refused';
  readonly reason: 'insufficient_credits' | 'no_credit_account';
  readonly details: { required: string; available: string } | Record<string, never>;
  constructor(
    readonly required: bigint,
    readonly available: bigint | null,
  ) {
    super(available === null ? 'No credit balance is initialized for this organization' : 'Insufficient credits');
    this.name = 'CreditRefused';
    this.reason = available === null ? 'no_credit_account' : 'insufficient_credits';
    this.details = available === null ? {} : { required: required.toString(), available: available.toString() };
  }
}

/** A spend cap as it stood when a call was refused: amounts in micro-USDC. */
export interface CapStanding {
  scope: 'key' | 'organization';
  cap: bigint;
  period: 'day' | 'month';
  /** charged in the current period */
  spent: bigint;
  /** held for working tasks, which counts against the cap until they settle */
  reserved: bigint;
}

const PERIOD_ADJECTIVE = { day: 'daily', month: 'monthly' } as const;

/**
 * The call's cost does not fit what a spend cap (the key's or the organization's) leaves in its
 * period. Amounts are micro-USDC; `resetsAt` is when the period ends (ISO-8601 UTC).
 */
export class SpendCapExceeded extends DomainError {
  readonly kind = 'spend_cap_exceeded';
  readonly reason = 'spend_cap_exceeded';
  readonly details: {
    scope: 'key' | 'organization';
    cap: string;
    period: 'day' | 'month';
    spent: string;
    reserved: string;
    required: string;
    resetsAt: string;
  };
  constructor(input: CapStanding & { required: bigint; resetsAt: Date }) {
    super(
      `Spend cap reached: the ${input.scope === 'key' ? "key's" : "organization's"} ${PERIOD_ADJECTIVE[input.period]} cap cannot cover this call`,
    );
    this.name = 'SpendCapExceeded';
    this.details = {
      scope: input.scope,
      cap: input.cap.toString(),
      period: input.period,
      spent: input.spent.toString(),
      reserved: input.reserved.toString(),
      required: input.required.toString(),
      resetsAt: input.resetsAt.toISOString(),
    };
  }
}

/** The key's policy does not let it call this tool (outside its tool list, or above its tier). */
export class ToolNotAllowed extends DomainError {
  readonly kind = 'tool_not_allowed';
  readonly reason = 'tool_not_allowed';
  readonly details: { tool: string; allowedTools: string[]; maxTier?: number };
  constructor(tool: string, allowedTools: string[], maxTier: number | null) {
    super(`This API key may not call ${tool}`);
    this.name = 'ToolNotAllowed';
    this.details = { tool, allowedTools, ...(maxTier === null ? {} : { maxTier }) };
  }
}

/** The operation exists but not for this target as it is now (a finished task takes no more messages). */
export class UnsupportedOperation extends DomainError {
  readonly kind = 'unsupported_operation';
  constructor(
    readonly reason: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'UnsupportedOperation';
  }
}

/**
 * The caller's input cannot be acted on: a malformed or unknown tool call, arguments that do not
 * fit, a page token we never issued, a webhook we will not post to. `details.issues`, when
 * present, lists each problem by path.
 */
export class InvalidInput extends DomainError {
  readonly kind = 'invalid_input';
  constructor(
    readonly reason: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'InvalidInput';
  }
}

/**
 * The error codes of the a2a-x402 extension (v0.2, its section 9.1), which the HTTP route reports
 * too; INVALID_RECIPIENT is ours, for an authorization that pays someone other than the treasury,
 * which the extension's list has no code for.
 */
export type PaymentErrorCode =
  | 'INVALID_SIGNATURE'
  | 'EXPIRED_PAYMENT'
  | 'DUPLICATE_NONCE'
  | 'INSUFFICIENT_FUNDS'
  | 'INVALID_AMOUNT'
  | 'INVALID_RECIPIENT'
  | 'NETWORK_MISMATCH'
  | 'SETTLEMENT_FAILED';

/**
 * An x402 payment that did not pay for the call: refused before the tool ran (nothing is claimed,
 * the authorization is still the payer's), or a settlement that failed after it (the answer is
 * withheld). `reason` is the code in lower case; `details.x402Reason` the x402 SDK's own reason.
 */
export class PaymentRefused extends DomainError {
  readonly kind = 'payment_refused';
  readonly reason: string;
  readonly details: { code: PaymentErrorCode; x402Reason?: string; taskId?: string };
  constructor(
    readonly code: PaymentErrorCode,
    message: string,
    readonly x402Reason?: string,
    taskId?: string,
  ) {
    super(message);
    this.name = 'PaymentRefused';
    this.reason = code.toLowerCase();
    this.details = { code, ...(x402Reason ? { x402Reason } : {}), ...(taskId ? { taskId } : {}) };
  }
}

/**
 * An executor found that its (schema-valid) arguments name something that does not exist, such as
 * an unknown agent. The task ends failed, uncharged, and the caller is told with the InvalidInput
 * from `onTask`, which names that task.
 */
export class ToolInputError extends InvalidInput {
  constructor(reason: string, message: string, details: Readonly<Record<string, unknown>> = {}) {
    super(reason, message, details);
    this.name = 'ToolInputError';
  }

  onTask(taskId: string): InvalidInput {
    return new InvalidInput(this.reason, this.message, { ...this.details, taskId });
  }
}

/**
 * A tool that failed in a way its caller may be told of (an upstream that answered HTTP 503, say),
 * not the caller's fault: the task fails with `reason` and this message, and nothing is charged.
 * Any other error of a tool is recorded as `tool_failed`, its text kept from the caller.
 */
export class ToolFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'ToolFailure';
  }
}
