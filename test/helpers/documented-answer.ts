import type { RouteConfig } from '@hono/zod-openapi';
import { expect } from 'vitest';
import { z } from 'zod';
import type { App } from '../../src/app.js';
import { errorAnswer } from '../../src/http/responses.js';

/** The REST routes `app` serves, as /openapi.json is generated from them: their zod schemas and every status they answer. */
export function documentedRoutes(app: App): RouteConfig[] {
  return app.openAPIRegistry.definitions.flatMap((definition) => (definition.type === 'route' ? [definition.route] : []));
}

const patternOf = (path: string) => new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/\{\w+\}/g, '[^/]+')}$`);

/**
 * Checks a REST answer against what /openapi.json documents for its route and status: the status
 * must be one the route documents, a success body must match the route's answer schema, an error
 * body the error envelope. Every API test that goes through `rest()` runs this, so a handler cannot
 * answer what the reference does not say.
 */
export async function expectDocumentedAnswer(app: App, method: string, url: string, response: Response): Promise<void> {
  const path = new URL(url, 'http://gateway').pathname;
  const route = documentedRoutes(app).find(
    (candidate) => candidate.method === method.toLowerCase() && patternOf(candidate.path).test(path),
  );
  if (!route) return;
  const where = `${method} ${path} → ${response.status}`;
  const answer = route.responses[String(response.status)];
  expect(answer, `${where}: a status /openapi.json does not document`).toBeDefined();
  if (response.status >= 400) {
    const parsed = errorAnswer.safeParse(await response.clone().json());
    expect(parsed.error?.issues, `${where}: not the error envelope`).toBeUndefined();
    return;
  }
  const media = answer && 'content' in answer ? answer.content?.['application/json'] : undefined;
  if (!(media && 'schema' in media && media.schema instanceof z.ZodType)) return;
  const parsed = media.schema.safeParse(await response.clone().json());
  expect(parsed.error?.issues, `${where}: not the documented answer`).toBeUndefined();
}
