/** The part of autocannon 9's programmatic API the bench uses (the package ships no types). */
declare module 'autocannon' {
  export interface RequestParams {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  }

  export interface RequestDefinition extends RequestParams {
    /** called before each request is sent; returns the request to send */
    setupRequest?: (request: RequestParams, context: Record<string, unknown>) => RequestParams;
    /** called with each complete response */
    onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string>) => void;
  }

  export interface Options extends RequestParams {
    url: string;
    connections?: number;
    /** seconds */
    duration?: number;
    /** requests per second over all connections: an open loop at that rate */
    overallRate?: number;
    /** seconds before a request counts as timed out */
    timeout?: number;
    requests?: RequestDefinition[];
  }

  export interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p2_5: number;
    p50: number;
    p75: number;
    p90: number;
    p97_5: number;
    p99: number;
    p99_9: number;
  }

  export interface Result {
    /** seconds */
    duration: number;
    requests: Histogram & { sent: number };
    /** milliseconds */
    latency: Histogram;
    throughput: Histogram;
    /** connection errors, timeouts included */
    errors: number;
    timeouts: number;
    non2xx: number;
    statusCodeStats: Record<string, { count: number }>;
  }

  /** Without a callback the returned instance is a thenable of the results. */
  export default function autocannon(options: Options): PromiseLike<Result>;
}
