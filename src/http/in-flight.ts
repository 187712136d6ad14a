import type { MiddlewareHandler } from 'hono';

/**
 * Counts requests whose handlers are still running. A client that hangs up does not stop its
 * handler, so shutdown waits on this count, not on open sockets, before closing the database:
 * otherwise a paid call could be cut off between its reserve and its capture.
 */
export class InFlightRequests {
  private count = 0;
  private waiters: Array<() => void> = [];

  readonly middleware: MiddlewareHandler = async (_c, next) => {
    this.count += 1;
    try {
      await next();
    } finally {
      this.count -= 1;
      if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    }
  };

  /** Resolves when no handler runs, or after `timeoutMs`; true when it drained. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
