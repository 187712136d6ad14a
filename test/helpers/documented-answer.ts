import { expect } from 'vitest';
import { okAnswers, OPERATIONS } from '../../src/http/openapi.js';
import { errorAnswer } from '../../src/http/responses.js';

const ROUTES = OPERATIONS.map((operation) => ({
  operation,
  pattern: new RegExp(`^${operation.path.replace(/\{\w+\}/g, '[^/]+')}$`),
}));

/**
 * Checks a REST answer against what /openapi.json documents for its route and status: a success
 * body against the route's answer schema, an error body against the error envelope. Every API test
 * that goes through `rest()` runs this, so a handler cannot answer what the reference does not say.
 */
export async function expectDocumentedAnswer(method: string, url: string, response: Response): Promise<void> {
  const path = new URL(url, 'http://gateway').pathname;
  const route = ROUTES.find((candidate) => candidate.operation.method === method.toLowerCase() && candidate.pattern.test(path));
  if (!route) return;
  const where = `${method} ${path} → ${response.status}`;
  if (response.status >= 400) {
    const parsed = errorAnswer.safeParse(await response.clone().json());
    expect(parsed.error?.issues, `${where}: not the error envelope`).toBeUndefined();
    return;
  }
  const answer = okAnswers(route.operation).find((candidate) => candidate.status === response.status);
  expect(answer, `${where}: a status /openapi.json does not document`).toBeDefined();
  if (!answer?.schema) return;
  const parsed = answer.schema.safeParse(await response.clone().json());
  expect(parsed.error?.issues, `${where}: not the documented answer`).toBeUndefined();
}
