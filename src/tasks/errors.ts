/** True when a statement failed on a unique index: a retried messageId raced its first attempt. */
export function isUniqueViolation(error: unknown): boolean {
  for (let current = error; current instanceof Error || isObject(current); current = causeOf(current)) {
    if (isObject(current) && current.code === '23505') return true;
  }
  return false;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function causeOf(value: unknown): unknown {
  return isObject(value) ? value.cause : undefined;
}
