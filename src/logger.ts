import pino, { type Logger } from 'pino';
import { activeTraceIds } from './tracing/spans.js';

/**
 * JSON logs; anything that looks like a credential is censored even if a caller slips it in. With
 * `traceIds` (tracing is on), each line written inside a span carries its traceId and spanId.
 */
export function createLogger(level: string, options: { traceIds?: boolean } = {}): Logger {
  return pino({
    level,
    base: { service: 'a2a-paygate' },
    redact: {
      paths: ['authorization', '*.authorization', 'apiKey', '*.apiKey', 'key', '*.key', 'signature', '*.signature'],
      censor: '[redacted]',
    },
    ...(options.traceIds ? { mixin: () => activeTraceIds() ?? {} } : {}),
  });
}
