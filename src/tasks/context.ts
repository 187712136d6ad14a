import type { Logger } from 'pino';
import type { Database } from '../db/client.js';

/** Who is calling and what the call may use: passed to every task operation. */
export interface CallerContext {
  readonly db: Database;
  readonly orgId: string;
  /** carries the request id on every line */
  readonly log: Logger;
  readonly toolTimeoutMs: number;
  /** how long past the tool timeout a working task may stay before recovery treats it as abandoned */
  readonly taskDeadlineSlackMs: number;
}
