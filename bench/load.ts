import autocannon from 'autocannon';
import { emptyTally, recordMcpResponse, recordResponse, recordRestResponse, type Tally } from './outcome.js';

export interface OutgoingRequest {
  /** sent as `Authorization: Bearer`; none for a call paid per call (x402) */
  apiKey?: string;
  body: string;
  /** the path when the front door has none of its own (REST: /v1/tools/{name}/call) */
  path?: string;
  /** sent with this request alone, e.g. PAYMENT-SIGNATURE */
  headers?: Record<string, string>;
}

/**
 * The gateway's front doors a load may go to: A2A's JSON-RPC (SendMessage), MCP Streamable HTTP
 * (tools/call), or the REST call route (`POST /v1/tools/{name}/call`, the path per request).
 */
export type Protocol = 'a2a' | 'mcp' | 'rest';

interface FrontDoor {
  /** every request's path; the REST route's names the tool, so each request brings its own */
  path: string;
  /** sent with every request, besides its key */
  headers: Record<string, string>;
  /** reads one answer into the tally */
  record: (tally: Tally, status: number, body: string) => void;
}

/**
 * MCP's stateless Streamable HTTP takes a tools/call without initialize when the request says the
 * protocol version and accepts both JSON and an event stream (a tools/call is answered as the latter).
 */
export const MCP_PROTOCOL_VERSION = '2025-11-25';

const FRONT_DOORS: Readonly<Record<Protocol, FrontDoor>> = {
  a2a: { path: '/a2a', headers: { 'content-type': 'application/json' }, record: recordResponse },
  mcp: {
    path: '/mcp',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MCP_PROTOCOL_VERSION,
    },
    record: recordMcpResponse,
  },
  rest: { path: '/v1/tools', headers: { 'content-type': 'application/json' }, record: recordRestResponse },
};

export interface LoadSpec {
  /** the gateway, e.g. http://127.0.0.1:3000 */
  baseUrl: string;
  /** the front door the requests go to, which also says how an answer is read */
  protocol: Protocol;
  connections: number;
  durationS: number;
  /** requests per second over all connections (autocannon corrects latency for coordinated omission); unpaced when absent */
  overallRate?: number;
  /** called once per request: a fresh body (unique messageIds) and whose key (or payment) sends it */
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
  const { path, headers, record } = FRONT_DOORS[spec.protocol];
  const result = await autocannon({
    url: `${spec.baseUrl}${path}`,
    connections: spec.connections,
    duration: spec.durationS,
    timeout: REQUEST_TIMEOUT_S,
    ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
    method: 'POST',
    headers,
    requests: [
      {
        setupRequest: (request) => {
          const { apiKey, body, path: own, headers: extra } = spec.nextRequest();
          return {
            ...request,
            ...(own ? { path: own } : {}),
            headers: { ...request.headers, ...extra, ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }) },
            body,
          };
        },
        onResponse: (status, body) => record(tally, status, body),
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
