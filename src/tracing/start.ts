import type { Logger } from 'pino';

/**
 * Starts OpenTelemetry tracing when `enabled` (an OTLP endpoint is configured); the SDK is loaded
 * only then, so a gateway without one neither loads nor runs any of it. Resolves with the stop
 * for shutdown, which exports the spans still batched, waiting at most `graceMs`.
 */
export async function startTracing(enabled: boolean, log: Logger, graceMs: number): Promise<() => Promise<void>> {
  if (!enabled) return async () => {};
  const { registerTracing } = await import('./sdk.js');
  const shutdown = registerTracing(log);
  log.info('exporting traces over OTLP/HTTP');
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        log.warn('trace export did not finish within the shutdown grace; the last spans are lost');
        resolve();
      }, graceMs);
    });
    try {
      await Promise.race([shutdown().catch((error: unknown) => log.warn({ err: error }, 'trace export at shutdown failed')), late]);
    } finally {
      clearTimeout(timer);
    }
  };
}
