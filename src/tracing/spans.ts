import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/*
 * What the rest of the gateway knows of tracing: spans around its own steps and the trace headers
 * of its outgoing calls. Until sdk.ts has started a tracer provider (OTEL_EXPORTER_OTLP_ENDPOINT),
 * every function here is one check of `tracer` and a call of the work itself: no span object, no
 * context switch, no header (docs/adr/0014-traces.md).
 */

let tracer: Tracer | undefined;

/** Called once the SDK is registered; from then on the functions here make spans. */
export function enableSpans(active: Tracer): void {
  tracer = active;
}

export function tracingOn(): boolean {
  return tracer !== undefined;
}

/** Where a span was started from, kept to be the parent or a link of a span started elsewhere later. */
export type SpanOrigin = Context;

export interface SpanOptions {
  /** `client` for a call to another service (an LLM, a webhook) */
  kind?: 'client' | 'internal';
  /** the span's parent instead of the active span; the others become its links */
  origins?: readonly (SpanOrigin | undefined)[];
}

/** The span's status says only which kind of error ended it: an error's message may carry what a trace must not. */
function markFailed(span: Span, error: unknown): void {
  const type = error instanceof Error ? error.name : typeof error;
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

function linksOf(origins: readonly (SpanOrigin | undefined)[]): Link[] {
  return origins.flatMap((origin) => {
    const span = origin && trace.getSpan(origin);
    return span ? [{ context: span.spanContext() }] : [];
  });
}

/** Runs `work` in a span named `name` (a fixed name: no ids in it; they go in `attributes`). */
export function inSpan<T>(name: string, attributes: Attributes, work: () => Promise<T>, options: SpanOptions = {}): Promise<T> {
  if (!tracer) return work();
  const [parent, ...linked] = options.origins ?? [];
  return tracer.startActiveSpan(
    name,
    {
      kind: options.kind === 'client' ? SpanKind.CLIENT : SpanKind.INTERNAL,
      attributes,
      links: linksOf(linked),
    },
    parent ?? context.active(),
    async (span) => {
      try {
        return await work();
      } catch (error) {
        markFailed(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** The active context, to start a span from later in other code (undefined when tracing is off). */
export function spanOrigin(): SpanOrigin | undefined {
  return tracer ? context.active() : undefined;
}

/** What the server span learns once the request is answered. */
export interface ServedRequest {
  /** the route pattern that answered (`/v1/keys/:id`), undefined when none did */
  route: string | undefined;
  status: number;
  requestId: string | undefined;
}

/**
 * Runs `serve` in a server span whose parent is the caller's span when its `traceparent` header
 * names one; `serve` answers what the span is named and marked with once it is done.
 */
export async function inServerSpan(method: string, headers: Record<string, string>, serve: () => Promise<ServedRequest>): Promise<void> {
  if (!tracer) {
    await serve();
    return;
  }
  const callers = propagation.extract(ROOT_CONTEXT, headers);
  await tracer.startActiveSpan(method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } }, callers, async (span) => {
    try {
      const served = await serve();
      if (served.route) {
        span.updateName(`${method} ${served.route}`);
        span.setAttribute('http.route', served.route);
      }
      span.setAttribute('http.response.status_code', served.status);
      if (served.requestId) span.setAttribute('request.id', served.requestId);
      if (served.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** `traceparent` (and `tracestate`) of the active span, for an outgoing request; none when tracing is off. */
export function traceHeaders(): Record<string, string> {
  if (!tracer) return {};
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}

/** The active span's ids, for log lines; undefined outside a span or when tracing is off. */
export function activeTraceIds(): { traceId: string; spanId: string } | undefined {
  if (!tracer) return undefined;
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}
