import autocannon from 'autocannon';
import { emptyTally, recordResponse, type Tally } from './outcome.js';

export interface OutgoingRequest {
  apiKey: string;
  body: string;
}

export interface LoadSpec {
  /** the JSON-RPC endpoint, e.g. http://127.0.0.1:3000/a2a */
  url: string;
  connections: number;
  durationS: number;
  /** requests per second over all connections (autocannon corrects latency for coordinated omission); unpaced when absent */
  overallRate?: number;
  /** called once per request: a fresh body (unique messageIds) and whose key sends it */
  nextRequest: () => OutgoingRequest;
}

export interface LoadResult {
  durationS: number;
  /** HTTP requests answered */
  requests: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  timeouts: number;
  /** connection errors other than timeouts */
  connectionErrors: number;
  tally: Tally;
}

const REQUEST_TIMEOUT_S = 10;

/** Drives the gateway over real HTTP with autocannon for `durationS` and reads every answer. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const tally = emptyTally();
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationS,
    timeout: REQUEST_TIMEOUT_S,
    ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (request) => {
          const { apiKey, body } = spec.nextRequest();
          return { ...request, headers: { ...request.headers, authorization: `Bearer ${apiKey}` }, body };
        },
        onResponse: (status, body) => recordResponse(tally, status, body),
      },
    ],
  });
  return {
    durationS: result.duration,
    requests: result.requests.total,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    timeouts: result.timeouts,
    connectionErrors: result.errors - result.timeouts,
    tally,
  };
}
