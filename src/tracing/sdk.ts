import { context, DiagLogLevel, diag, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Logger } from 'pino';
import { enableSpans } from './spans.js';

/** The name traces are listed under unless OTEL_SERVICE_NAME (or OTEL_RESOURCE_ATTRIBUTES) says otherwise. */
const SERVICE_NAME = 'a2a-paygate';

/**
 * Registers the trace SDK: spans batched (OTEL_BSP_*) and exported as OTLP/HTTP JSON to
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces (with
 * OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT…), sampled by OTEL_TRACES_SAMPLER; the SDK reads those
 * itself. Context follows async calls (AsyncLocalStorage); only the W3C trace context crosses
 * the wire, never a caller's baggage, which is not ours to hand to an LLM provider or a webhook.
 * Returns the flush-and-stop for shutdown.
 */
export function registerTracing(log: Logger): () => Promise<void> {
  // The SDK reports a failed export here; without a logger it would say nothing. Written outside
  // any span: an export runs in the context of whichever request's span ended last, not for it.
  const warn = (message: string) => context.with(ROOT_CONTEXT, () => log.warn({ component: 'opentelemetry' }, message));
  diag.setLogger(
    {
      error: warn,
      warn,
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  );
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': SERVICE_NAME }).merge(detectResources({ detectors: [envDetector] })),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  enableSpans(trace.getTracer(SERVICE_NAME));
  return () => provider.shutdown();
}
