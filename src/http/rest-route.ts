import { createRoute, OpenAPIHono, type RouteConfig, type RouteHandler } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { MemberRole } from '../auth/members.js';
import type { Sessions } from '../auth/sessions.js';
import type { Database } from '../db/client.js';
import { API_ERROR_STATUS, ApiError, type ApiErrorCode, jsonBody, queryOf } from './api-errors.js';
import { requireCaller } from './caller-auth.js';
import type { AppEnv } from './env.js';
import { requireSession } from './session-auth.js';

/**
 * Who may call a route: anyone, a wallet session with at least a role, the organization's session
 * or API key, or (`paid_call`) an API key checked as the paid endpoints check it, by the route's
 * own `before` middleware (the key cache, its policy, the rate limits).
 */
export type Access = 'public' | 'caller' | 'paid_call' | { session: MemberRole };

type ErrorStatus = (typeof API_ERROR_STATUS)[keyof typeof API_ERROR_STATUS];

/** An error status a handler answers, with the reasons it gives it when they are worth naming. */
export type Refusal = ErrorStatus | { readonly status: ErrorStatus; readonly reasons: readonly string[] };

/**
 * One REST route: method, path, summary, request and answer schemas (zod), who may call it and the
 * refusals its own logic answers. The router enforces `access` and validates the request with these
 * schemas, and /openapi.json is generated from them.
 */
export type RestRouteConfig = Omit<RouteConfig, 'security' | 'middleware' | 'hide'> & {
  access: Access;
  /** error statuses the handler answers (with their reasons, where named), besides those of `access` (401, 403) and of the request's validation (400, 413) */
  refusals?: readonly Refusal[];
};

/** A route's definition; the path is kept literal so handlers read its parameters by name. */
export const restRoute = <Path extends string, R extends Omit<RestRouteConfig, 'path'> & { path: Path }>(config: R) => createRoute(config);

const SECURITY: Record<'public' | 'caller' | 'paid_call' | 'session', Record<string, string[]>[]> = {
  public: [],
  caller: [{ session: [] }, { apiKey: [] }],
  paid_call: [{ apiKey: [] }],
  session: [{ session: [] }],
};
const ERROR_RESPONSE = { $ref: '#/components/responses/Error' } as const;

function jsonBodySchema(config: RouteConfig): z.ZodType | undefined {
  const media = config.request?.body?.content['application/json'];
  if (media === undefined) return undefined;
  if (!('schema' in media && media.schema instanceof z.ZodType))
    throw new Error(`${config.method} ${config.path}: the body must be a zod schema`);
  return media.schema;
}

/** Each error status's envelope `code`: one code per status. */
const CODE_OF_STATUS = new Map(Object.entries(API_ERROR_STATUS).map(([code, status]) => [status as ErrorStatus, code as ApiErrorCode]));

/** The reasons the access checks give (caller-auth.ts, session-auth.ts, the paid calls' key check and rate limits). */
function accessReasons(access: Access): Partial<Record<ErrorStatus, string[]>> {
  const session = ['missing_session', 'invalid_session', 'api_key_not_a_session', 'not_a_member'];
  if (access === 'public') return {};
  if (access === 'paid_call') return { 401: ['missing_api_key', 'invalid_api_key'], 429: ['rate_limited'] };
  if (access === 'caller') return { 401: ['missing_session', 'invalid_api_key', 'invalid_session', 'not_a_member'] };
  return { 401: session, 403: ['role_too_low'] };
}

/**
 * What /openapi.json says of a route: its security and every status it answers, each error as the
 * one envelope described by its `code` and the reasons the route gives it (the reference page prints them).
 */
function documented({ access, refusals = [], ...config }: RestRouteConfig): RouteConfig {
  const reasons = new Map<ErrorStatus, Set<string>>();
  const add = (status: ErrorStatus, named: readonly string[] = []) => {
    const known = reasons.get(status) ?? new Set<string>();
    for (const reason of named) known.add(reason);
    reasons.set(status, known);
  };
  for (const refusal of refusals) typeof refusal === 'number' ? add(refusal) : add(refusal.status, refusal.reasons);
  const byAccess = accessReasons(access);
  const query = Boolean(config.request?.query);
  const body = Boolean(jsonBodySchema(config));
  if (query || body) add(400, [...(query ? ['invalid_query'] : []), ...(body ? ['invalid_body', 'malformed_json'] : [])]);
  if (body) add(413);
  if (access !== 'public') add(401, byAccess[401]);
  if (access === 'paid_call') add(429, byAccess[429]);
  if (typeof access === 'object' && access.session !== 'viewer') add(403, byAccess[403]);
  // Any route that reads the database may find it unreachable (app.ts's onError); documented on
  // every route, since a client treats it the same everywhere: wait Retry-After, try again.
  add(503, ['database_unavailable']);
  const errors = Object.fromEntries(
    [...reasons.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, named]) => {
        const code = CODE_OF_STATUS.get(status) ?? 'error';
        return [String(status), { ...ERROR_RESPONSE, description: named.size ? `${code}: ${[...named].join(', ')}` : code }];
      }),
  );
  return {
    ...config,
    security: typeof access === 'object' ? SECURITY.session : SECURITY[access],
    responses: { ...config.responses, ...errors },
  };
}

/**
 * Validates the query and the JSON body with the route's schemas, refusing as every route always
 * has (`queryOf`, `jsonBody`: the body is read as JSON whatever its content type), and hands the
 * parsed values to `c.req.valid()`. Path parameters are the handlers' to check: a malformed key id
 * is "not found" like any other, a malformed member address a 400 of its own.
 */
function validation(config: RestRouteConfig): MiddlewareHandler<AppEnv> {
  const query = config.request?.query;
  const body = jsonBodySchema(config);
  return async (c, next) => {
    if (query) c.req.addValidatedData('query', queryOf(c, query) as object);
    if (body) c.req.addValidatedData('json', (await jsonBody(c, body)) as object);
    await next();
  };
}

/** What the session and caller checks read: API keys and members in the database, session tokens. */
export interface AccessDeps {
  db: Database;
  sessions: Sessions;
}

function guard(access: Access, deps: AccessDeps | undefined, where: string): MiddlewareHandler<AppEnv>[] {
  if (access === 'public' || access === 'paid_call') return [];
  if (!deps) throw new Error(`${where} needs sessions and API keys, which this router was not given`);
  return [access === 'caller' ? requireCaller(deps) : requireSession(deps, access.session)];
}

/**
 * After a paid call's own key check: a route that forgot it answers 401, never runs unauthenticated
 * (a call to be paid per call with x402 runs, and pays before its tool does).
 */
const keyChecked: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.get('principal') && !c.get('payingWithX402'))
    throw new ApiError('unauthorized', 'send an API key as Authorization: Bearer <key>', 'missing_api_key');
  await next();
};

/**
 * A router of REST routes; mounted with `.route()` on the app (an OpenAPIHono), its routes join the
 * app's OpenAPI registry. Routes are registered and validated here rather than by
 * `OpenAPIHono.openapi()`, whose validators would answer 415 to a JSON body sent without a JSON
 * content type, read a repeated query parameter as an array and throw a bare 400 on malformed JSON:
 * the API has always answered those otherwise, and keeps doing so.
 */
export function restRouter(deps?: AccessDeps) {
  const router = new OpenAPIHono<AppEnv>();
  return {
    router,
    /** Serves `route` with `handler`, after its access check, any `before` middleware (in order) and its validation. */
    add<R extends RestRouteConfig>(route: R, handler: RouteHandler<R, AppEnv>, ...before: MiddlewareHandler<AppEnv>[]) {
      const where = `${route.method.toUpperCase()} ${route.path}`;
      router.openAPIRegistry.registerPath(documented(route));
      const handlers = [
        ...guard(route.access, deps, where),
        ...before,
        ...(route.access === 'paid_call' ? [keyChecked] : []),
        validation(route),
        handler as MiddlewareHandler<AppEnv>,
      ];
      router.on(route.method.toUpperCase(), route.path.replaceAll(/\{(\w+)\}/g, ':$1'), ...(handlers as [MiddlewareHandler<AppEnv>]));
    },
  };
}

export type RestRouter = ReturnType<typeof restRouter>;

/** A JSON answer as a route declares it. */
export const json = <Schema extends z.ZodType>(schema: Schema, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** A JSON request body as a route declares it. */
export const jsonRequest = <Schema extends z.ZodType>(schema: Schema) => ({
  body: { required: true, content: { 'application/json': { schema } } },
});
