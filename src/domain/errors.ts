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

export type AnyDomainError = TaskNotFound | TaskNotCancelable | CreditRefused | UnsupportedOperation | InvalidInput;

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
