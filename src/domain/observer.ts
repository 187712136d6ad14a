/**
 * What the paid path and the background jobs tell the operator as it happens (issue 17). The
 * domain reports events; how they are counted (Prometheus, src/metrics/) is the edge's business,
 * so nothing in here knows of a metrics library. Never an organization, key or task id: what is
 * observed is summed over every caller.
 */

/** How a paid call ended: its tool answered, it failed (no charge), it was refused before it ran, or canceled. */
export type ToolCallOutcome = 'completed' | 'failed' | 'refused' | 'canceled';

/**
 * What became of an x402 payment sent for a call: settled (and booked), refused before its tool
 * ran (with the a2a-x402 code), released (the tool failed: nothing settled), or unsettled (the
 * settlement failed: the answer withheld).
 */
export type X402Outcome = 'settled' | 'refused' | 'released' | 'unsettled';

/** A webhook delivery: posted, failed and to be retried, or failed for the last time. */
export type PushOutcome = 'delivered' | 'failed' | 'gave_up';

export interface ToolCallEnd {
  tool: string;
  tier: number;
  outcome: ToolCallOutcome;
  /** how long the tool ran, for a call that ran it (completed or failed) */
  toolSeconds?: number;
}

export interface Observer {
  /** a paid call ended; counted by the process that settled it, so once however many instances saw it */
  toolCallEnded(call: ToolCallEnd): void;
  /** this process wrote the ledger row that charged `microUsdc` for one call of `tool` */
  charged(tool: string, microUsdc: bigint): void;
  /** calls refused before anything ran: `calls` of them (a rate-limited batch counts each call) */
  refused(reason: string, calls?: number): void;
  /** a tool started (+1) or stopped (−1) running in this process */
  toolRunning(change: 1 | -1): void;
  /** a webhook delivery ended */
  pushDelivered(outcome: PushOutcome): void;
  /** this process credited a top-up of `microUsdc` */
  toppedUp(microUsdc: bigint): void;
  /** an x402 payment this process took ended so; `microUsdc` is what a settled one moved to the treasury */
  x402Payment(outcome: X402Outcome, microUsdc?: bigint): void;
}

/** Observes nothing: tests that do not count, and a gateway run with METRICS=off. */
export const UNOBSERVED: Observer = {
  toolCallEnded: () => {},
  charged: () => {},
  refused: () => {},
  toolRunning: () => {},
  pushDelivered: () => {},
  toppedUp: () => {},
  x402Payment: () => {},
};
