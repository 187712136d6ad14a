import pino, { type Logger } from 'pino';

/** JSON logs; anything that looks like a credential is censored even if a caller slips it in. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'a2a-paygate' },
    redact: {
      paths: ['authorization', '*.authorization', 'apiKey', '*.apiKey', 'key', '*.key', 'signature', '*.signature'],
      censor: '[redacted]',
    },
  });
}
