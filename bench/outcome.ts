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
  /**
   * MCP tool results refused before a task ran (`isError` with `_meta.reason` and no task state):
   * credit, spend cap, rate limit, arguments. A2A's refusals are JSON-RPC errors, counted in rpcErrors.
   */
  refused: number;
  /** 2xx bodies that are not JSON-RPC answers at all */
  unreadable: number;
  /** "code reason" or "state" → how often, for the failures above */
  failures: Map<string, number>;
}

export function emptyTally(): Tally {
  return { completed: 0, httpErrors: 0, rpcErrors: 0, otherStates: 0, refused: 0, unreadable: 0, failures: new Map() };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function field(value: Json | undefined, key: string): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value[key] : undefined;
}

function countFailure(tally: Tally, label: string): void {
  tally.failures.set(label, (tally.failures.get(label) ?? 0) + 1);
}

/** A JSON-RPC error answer, counted by its code and the gateway's reason. */
function recordRpcError(tally: Tally, error: Json): void {
  tally.rpcErrors++;
  countFailure(tally, `${String(field(error, 'code'))} ${String(field(field(error, 'data'), 'reason') ?? '')}`.trim());
}

function recordAnswer(tally: Tally, answer: Json): void {
  const error = field(answer, 'error');
  if (error !== undefined) {
    recordRpcError(tally, error);
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

/**
 * An MCP tools/call answer (src/mcp/call-result.ts): paid when `_meta.charged` is true; an
 * `isError` result with a reason is a refusal before any task (no `_meta.state`), or a task that
 * ended unanswered (its state); anything else is unreadable.
 */
function recordToolResult(tally: Tally, answer: Json): void {
  const error = field(answer, 'error');
  if (error !== undefined) {
    recordRpcError(tally, error);
    return;
  }
  const result = field(answer, 'result');
  const meta = field(result, '_meta');
  if (field(meta, 'charged') === true && field(result, 'isError') !== true) {
    tally.completed++;
    return;
  }
  const reason = field(meta, 'reason');
  const state = field(meta, 'state');
  if (field(result, 'isError') !== true || typeof reason !== 'string') {
    tally.unreadable++;
    countFailure(tally, 'unreadable tool result');
  } else if (typeof state === 'string') {
    tally.otherStates++;
    countFailure(tally, `${state} ${reason}`);
  } else {
    tally.refused++;
    countFailure(tally, `refused ${reason}`);
  }
}

/** JSON-RPC responses carry an id and no method (a progress notification has a method and no id). */
function isResponse(message: Json): boolean {
  return field(message, 'method') === undefined && field(message, 'id') !== undefined;
}

/**
 * Adds one MCP Streamable HTTP response to the tally: a tools/call is answered as an event stream
 * whose `data:` lines are JSON-RPC messages (notifications may precede the response); an answer
 * refused before the transport (or a JSON-mode answer) is one JSON body. Only the A2A path's
 * `recordResponse` reads A2A answers: this parsing is the MCP scenario's alone.
 */
export function recordMcpResponse(tally: Tally, status: number, body: string): void {
  if (status < 200 || status > 299) {
    tally.httpErrors++;
    countFailure(tally, `HTTP ${status}`);
    return;
  }
  const data =
    body.startsWith('{') || body.startsWith('[')
      ? [body]
      : body.split('\n').flatMap((line) => (line.startsWith('data:') ? [line.slice(5)] : []));
  const responses: Json[] = [];
  for (const text of data) {
    if (text.trim() === '') continue;
    let message: Json;
    try {
      message = JSON.parse(text) as Json;
    } catch {
      tally.unreadable++;
      countFailure(tally, 'event data is not JSON');
      return;
    }
    for (const one of Array.isArray(message) ? message : [message]) if (isResponse(one)) responses.push(one);
  }
  if (responses.length === 0) {
    tally.unreadable++;
    countFailure(tally, 'no JSON-RPC response in the body');
    return;
  }
  for (const answer of responses) recordToolResult(tally, answer);
}

/**
 * Adds one answer of the REST call route (`POST /v1/tools/{name}/call`, src/http/calls/call-tool.ts)
 * to the tally: a 200 whose body says `charged: true` is a paid call (by key or by x402); a refusal
 * is the REST error envelope, counted by status and reason (an x402 refusal's code too, e.g.
 * `HTTP 402 duplicate_nonce DUPLICATE_NONCE`).
 */
export function recordRestResponse(tally: Tally, status: number, body: string): void {
  let parsed: Json;
  try {
    parsed = JSON.parse(body) as Json;
  } catch {
    if (status < 200 || status > 299) {
      tally.httpErrors++;
      countFailure(tally, `HTTP ${status}`);
    } else {
      tally.unreadable++;
      countFailure(tally, 'body is not JSON');
    }
    return;
  }
  if (status < 200 || status > 299) {
    tally.httpErrors++;
    const error = field(parsed, 'error');
    const code = field(field(error, 'details'), 'code');
    countFailure(tally, [`HTTP ${status}`, field(error, 'reason'), code].filter((part) => typeof part === 'string').join(' '));
  } else if (field(parsed, 'charged') === true && typeof field(parsed, 'taskId') === 'string') {
    tally.completed++;
  } else {
    tally.unreadable++;
    countFailure(tally, 'an answer not charged');
  }
}
