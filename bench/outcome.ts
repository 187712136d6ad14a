/** Reads the gateway's answers: which calls were paid (completed), which failed, and why. */

export interface Tally {
  /** answers whose task is TASK_STATE_COMPLETED: the paid calls */
  completed: number;
  /** responses outside 2xx (401, 413, 5xx) */
  httpErrors: number;
  /** JSON-RPC error answers */
  rpcErrors: number;
  /** task answers in any other state */
  otherStates: number;
  /** 2xx bodies that are not JSON-RPC answers at all */
  unreadable: number;
  /** "code reason" or "state" → how often, for the failures above */
  failures: Map<string, number>;
}

export function emptyTally(): Tally {
  return { completed: 0, httpErrors: 0, rpcErrors: 0, otherStates: 0, unreadable: 0, failures: new Map() };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function field(value: Json | undefined, key: string): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value[key] : undefined;
}

function countFailure(tally: Tally, label: string): void {
  tally.failures.set(label, (tally.failures.get(label) ?? 0) + 1);
}

function recordAnswer(tally: Tally, answer: Json): void {
  const error = field(answer, 'error');
  if (error !== undefined) {
    tally.rpcErrors++;
    countFailure(tally, `${String(field(error, 'code'))} ${String(field(field(error, 'data'), 'reason') ?? '')}`.trim());
    return;
  }
  const task = field(field(answer, 'result'), 'task');
  const state = field(field(task, 'status'), 'state');
  if (typeof state !== 'string') {
    tally.unreadable++;
    countFailure(tally, 'unreadable answer');
  } else if (state === 'TASK_STATE_COMPLETED') {
    tally.completed++;
  } else {
    tally.otherStates++;
    countFailure(tally, state);
  }
}

/** Adds one response (a single answer or a batch of them) to the tally. */
export function recordResponse(tally: Tally, status: number, body: string): void {
  if (status < 200 || status > 299) {
    tally.httpErrors++;
    countFailure(tally, `HTTP ${status}`);
    return;
  }
  let parsed: Json;
  try {
    parsed = JSON.parse(body) as Json;
  } catch {
    tally.unreadable++;
    countFailure(tally, 'body is not JSON');
    return;
  }
  for (const answer of Array.isArray(parsed) ? parsed : [parsed]) recordAnswer(tally, answer);
}
