/**
 * An executor found that its (schema-valid) arguments name something that does not exist, such as
 * an unknown agent. The caller is told with -32602 and the task ends failed, uncharged.
 */
export class ToolInputError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ToolInputError';
  }
}
