import type { Logger } from 'pino';

/**
 * What kind of failure an error is: its name and its cause's (ChainUnavailableError > TimeoutError,
 * HttpRequestError > TypeError, a database error…), without the details, which change from one
 * attempt to the next (block numbers, timings), nor the deeper causes (how a socket ended).
 */
function kindOf(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  return error.cause instanceof Error ? `${error.name} > ${error.cause.name}` : error.name;
}

export interface OutageLog {
  /** a pass failed: logged at warn if it starts an outage or fails in a way this outage has not yet, else at debug */
  failed(error: unknown): void;
  /** a pass went through: ends the outage, if any, with one info line */
  succeeded(): void;
}

/**
 * Logs a background loop's failing passes once per outage, not once a pass: a chain RPC down for an
 * hour is one warning (and one line when it answers again), not one every few seconds. A failure of
 * another kind in the middle of an outage (the RPC answers again but the database does not) is
 * warned about too, once.
 */
export function outageLog(log: Logger, messages: { failing: string; recovered: string }): OutageLog {
  let outage: { since: number; passes: number; kinds: Set<string> } | undefined;
  return {
    failed(error) {
      outage ??= { since: Date.now(), passes: 0, kinds: new Set() };
      outage.passes += 1;
      const kind = kindOf(error);
      if (outage.kinds.has(kind)) {
        log.debug({ err: error, failedPasses: outage.passes }, messages.failing);
        return;
      }
      outage.kinds.add(kind);
      log.warn({ err: error }, messages.failing);
    },
    succeeded() {
      if (!outage) return;
      log.info({ failedPasses: outage.passes, downMs: Date.now() - outage.since }, messages.recovered);
      outage = undefined;
    },
  };
}
