import { type CallPicker, mcpToolsCall, mixCalls, sendMessage, tier0Calls, tier1Calls } from './calls.js';
import { BENCH_CATALOG_TOOL } from './catalog-upstream.js';
import { FLOOR_TARGETS } from './floor.js';
import type { FloorShape } from './floor-script.js';
import type { OutgoingRequest } from './load.js';
import type { BenchOrganization } from './seed.js';

export interface ScenarioInput {
  agents: number;
  organizations: BenchOrganization[];
  nextMessageId: () => string;
  /** an x402 scenario's PAYMENT-SIGNATURE headers, signed before its load (x402.ts); undefined once spent */
  nextPayment?: () => string | undefined;
}

export interface Scenario {
  name: string;
  description: string;
  connections: number;
  /** tool calls in each HTTP request (a JSON-RPC batch when > 1) */
  callsPerRequest: number;
  requests(input: ScenarioInput): () => OutgoingRequest;
  /**
   * The gateway the load goes to: the run's own (metrics on) when absent; `metrics-off` is a second
   * gateway process on the same database started with METRICS=off for this scenario alone, while
   * the run's own gateway idles. `x402` is likewise a second gateway, started with the X402 env of a
   * local anvil chain (x402.ts): that env also turns on top-ups and their chain watcher, so the run's
   * own gateway is left as every other scenario measures it.
   */
  gateway?: 'metrics-off' | 'x402';
  /**
   * An open loop: requests are sent at `multiple` × the calls/s of the floor `floor` (measured
   * before the gateway's scenarios, in the same run) whatever the answers' latency, instead of
   * each connection sending its next request when its answer arrives.
   */
  pacedAt?: { floor: FloorShape; multiple: number };
  /** calls the bench's catalog tool (catalog.ts): the run starts its upstream and registers it before the gateway starts */
  catalog?: true;
  /**
   * The front door: A2A's POST /a2a (SendMessage) when absent; `mcp` is POST /mcp (a stateless MCP
   * tools/call without initialize), whose requests and answers differ (`requests` must build tools/call bodies);
   * `rest` is POST /v1/tools/{name}/call, the arguments as the body (`requests` gives each request's path).
   */
  protocol?: 'mcp' | 'rest';
  /**
   * `false`: left out of the smoke run unless `--only` names it (x402-http: its chain, second
   * gateway and signed pool add some 15 s to CI's run, and a cold gateway answers none of its calls
   * within smoke's 2 s, so it would check the set-up, not measure).
   */
  smoke?: false;
}

const TIER1_SHARE = 0.3;
const BATCH_SIZE = 10;

function randomOrg(organizations: BenchOrganization[]): BenchOrganization {
  return organizations[Math.floor(Math.random() * organizations.length)]!;
}

/** One SendMessage per request, or a batch of `size`, with the key `key()` picks. */
function requestsOf(input: ScenarioInput, calls: CallPicker, size: number, key: () => string): () => OutgoingRequest {
  const one = (id: number) => sendMessage(id, input.nextMessageId(), calls());
  return () => ({
    apiKey: key(),
    body: JSON.stringify(size === 1 ? one(1) : Array.from({ length: size }, (_, n) => one(n + 1))),
  });
}

/** One MCP tools/call per request, a fresh idempotency key each. */
function mcpRequestsOf(input: ScenarioInput, calls: CallPicker, key: () => string): () => OutgoingRequest {
  return () => ({ apiKey: key(), body: JSON.stringify(mcpToolsCall(1, input.nextMessageId(), calls())) });
}

/**
 * The tool the REST scenarios call (a Tier 0 read, 1,000 micro-USDC): one tool, so the x402 pool is
 * signed for one price and one PAYMENT-REQUIRED, and the keyed floor calls exactly what x402 pays for.
 */
export const REST_TOOL = 'getAgentProfile';

/** One POST /v1/tools/{REST_TOOL}/call per request, a random agent: the body is the arguments. */
function restCall(input: ScenarioInput): { path: string; body: string } {
  return { path: `/v1/tools/${REST_TOOL}/call`, body: JSON.stringify({ agentId: 1 + Math.floor(Math.random() * input.agents) }) };
}

const tier0Spread = (input: ScenarioInput) => requestsOf(input, tier0Calls(input.agents), 1, () => randomOrg(input.organizations).apiKey);

export const scenarios: Scenario[] = [
  {
    name: 'tier0-spread',
    description: 'Tier 0 calls, random agents, spread over all organizations',
    connections: 64,
    callsPerRequest: 1,
    requests: tier0Spread,
  },
  // The floor's load (bench/floor.ts): as many connections as pgbench has clients, so latency is
  // compared at the same concurrency, not at four times the calls in flight.
  {
    name: 'tier0-spread-16',
    description: 'tier0-spread with as many connections as the floor has clients',
    connections: 16,
    callsPerRequest: 1,
    requests: tier0Spread,
  },
  // Issue 18's latency target read at the rate it asks for: 64 closed-loop connections on a saturated
  // machine measure their own queue (p50 ≈ 64 ÷ calls/s), not what a call at the target rate waits.
  {
    name: 'tier0-spread-paced',
    description: `tier0-spread sent at ${FLOOR_TARGETS.ratio} × the spread floor's calls/s (an open loop)`,
    connections: 64,
    callsPerRequest: 1,
    requests: tier0Spread,
    pacedAt: { floor: 'spread', multiple: FLOOR_TARGETS.ratio },
  },
  // What counting metrics costs (issue 17): tier0-spread with metrics, without, without, with (A B B A),
  // back to back on the same warm database, so a machine that speeds up or slows down over those
  // minutes weighs on both sides alike; the report compares the means of each side.
  {
    name: 'tier0-spread-metrics-off',
    description: 'tier0-spread against a second gateway started with METRICS=off',
    connections: 64,
    callsPerRequest: 1,
    requests: tier0Spread,
    gateway: 'metrics-off',
  },
  {
    name: 'tier0-spread-metrics-off-again',
    description: 'tier0-spread-metrics-off again (the B B of A B B A)',
    connections: 64,
    callsPerRequest: 1,
    requests: tier0Spread,
    gateway: 'metrics-off',
  },
  {
    name: 'tier0-spread-again',
    description: 'tier0-spread again, metrics on (the last A of A B B A)',
    connections: 64,
    callsPerRequest: 1,
    requests: tier0Spread,
  },
  {
    name: 'tier0-spread-governed',
    description: 'tier0-spread with keys carrying every policy (tools, tier, a spend cap and a rate limit that never refuse)',
    connections: 64,
    callsPerRequest: 1,
    requests: (input) => requestsOf(input, tier0Calls(input.agents), 1, () => randomOrg(input.organizations).governedApiKey),
  },
  // A catalog tool (issue 19) at the same load: what the argument check, the signed upstream request
  // and the result check cost the gateway per call, against tier0-spread's CPU per call.
  {
    name: 'catalog-spread',
    description: `calls of the catalog tool ${BENCH_CATALOG_TOOL} (an upstream of the bench's own on loopback), spread over all organizations`,
    connections: 64,
    callsPerRequest: 1,
    requests: (input) =>
      requestsOf(
        input,
        () => ({ tool: BENCH_CATALOG_TOOL, arguments: { agentId: 1 + Math.floor(Math.random() * input.agents) } }),
        1,
        () => randomOrg(input.organizations).apiKey,
      ),
    catalog: true,
  },
  // The MCP front door (issue 20) at tier0-spread's load: what the SDK's per-request server and
  // transport, the tools/call checks and the event-stream answer cost the gateway per call, against
  // tier0-spread's CPU per call (the paid path behind both is the same sendMessage).
  {
    name: 'mcp-spread',
    description: 'tier0-spread as MCP tools/call requests to POST /mcp (stateless, no initialize), spread over all organizations',
    connections: 64,
    callsPerRequest: 1,
    requests: (input) => mcpRequestsOf(input, tier0Calls(input.agents), () => randomOrg(input.organizations).apiKey),
    protocol: 'mcp',
  },
  // The REST call route with a key: the floor x402-http is held against (the same tool, route and
  // connections), on the run's own gateway.
  {
    name: 'rest-spread',
    description: `keyed POST /v1/tools/${REST_TOOL}/call, random agents, spread over all organizations`,
    connections: 64,
    callsPerRequest: 1,
    requests: (input) => () => ({ ...restCall(input), apiKey: randomOrg(input.organizations).apiKey }),
    protocol: 'rest',
  },
  // x402 over HTTP (issue 21) at the same load, no key: each request carries a fresh PAYMENT-SIGNATURE
  // (an EIP-3009 authorization pre-signed by one of the payer wallets); the gateway verifies it,
  // claims it, runs the tool, settles the transfer on a local anvil (a block mined per settlement)
  // and books it. Against rest-spread's gateway CPU per paid call in the same run.
  {
    name: 'x402-http',
    description: `POST /v1/tools/${REST_TOOL}/call without a key, each paid with a fresh x402 payment settled on a local anvil`,
    connections: 64,
    callsPerRequest: 1,
    requests: (input) => {
      const { nextPayment } = input;
      if (!nextPayment) throw new Error('x402-http needs its pool of signed payments');
      return () => {
        const payment = nextPayment();
        // a spent pool sends the call unpaid: answered 402 payment_required, counted as an error
        return { ...restCall(input), ...(payment ? { headers: { 'payment-signature': payment } } : {}) };
      };
    },
    gateway: 'x402',
    protocol: 'rest',
    smoke: false,
  },
  {
    name: 'tier0-hot-org',
    description: 'Tier 0 calls, all for one organization (one balance row)',
    connections: 64,
    callsPerRequest: 1,
    requests: (input) => {
      const hot = input.organizations[0]!;
      return requestsOf(input, tier0Calls(input.agents), 1, () => hot.apiKey);
    },
  },
  {
    name: 'tier0-tier1-mix',
    description: '70 % Tier 0, 30 % Tier 1, spread over all organizations',
    connections: 64,
    callsPerRequest: 1,
    requests: (input) =>
      requestsOf(
        input,
        mixCalls(tier1Calls(input.agents), TIER1_SHARE, tier0Calls(input.agents)),
        1,
        () => randomOrg(input.organizations).apiKey,
      ),
  },
  {
    name: 'batch-10',
    description: `JSON-RPC batches of ${BATCH_SIZE} Tier 0 calls, spread over all organizations`,
    connections: 32,
    callsPerRequest: BATCH_SIZE,
    requests: (input) => requestsOf(input, tier0Calls(input.agents), BATCH_SIZE, () => randomOrg(input.organizations).apiKey),
  },
];
