import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltGateway, buildGateway, startBuiltGateway } from '../helpers/built-gateway.js';
import { createEmptyPostgresDatabase } from '../helpers/database.js';
import { type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { type LoopbackServer, listenOnLoopback } from '../helpers/loopback.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { waitFor } from '../helpers/wait.js';

/**
 * OpenTelemetry traces as an operator gets them: the built gateway in its own process, with
 * OTEL_EXPORTER_OTLP_ENDPOINT naming an OTLP/HTTP receiver of this test's own on loopback, a fake
 * LLM and a webhook receiver beside it. Callers send a W3C `traceparent`; the spans arrive at the
 * receiver at the latest when the gateway stops (the batch delay is set longer than the test).
 */

const serverUrl = process.env.DATABASE_URL;
// A fresh embedded database takes seconds to create and migrate, more on a busy machine.
const START_TIMEOUT_MS = 120_000;
const CURL_LINE = /^curl -s (\S+) -H 'Authorization: Bearer ([^']+)'/m;
const WEBHOOK_TOKEN = 'trace-test-webhook-token';

let scratch: string;
const disposals: Array<() => Promise<void>> = [];

beforeAll(async () => {
  await buildGateway();
  scratch = await mkdtemp(join(tmpdir(), 'paygate-traces-'));
}, START_TIMEOUT_MS);

afterAll(async () => {
  for (const dispose of disposals.splice(0).reverse()) await dispose();
  await rm(scratch, { recursive: true, force: true });
});

/** The database for one gateway: a fresh PostgreSQL database, or a new embedded one. */
async function databaseEnv(name: string): Promise<Record<string, string>> {
  if (!serverUrl) return { DATA_DIR: join(scratch, name, 'db') };
  const database = await createEmptyPostgresDatabase();
  disposals.push(database.dispose);
  return database.routes.env;
}

/** Starts the built gateway with its demo organization; answers where it listens and the demo key. */
async function startDemoGateway(env: Record<string, string>): Promise<{ gateway: BuiltGateway; url: string; apiKey: string }> {
  const gateway = startBuiltGateway({ PORT: '0', DEMO: '1', ...env });
  disposals.push(async () => {
    gateway.child.kill('SIGKILL');
    await gateway.exited;
  });
  const [, url, apiKey] = (await gateway.stderrMatching(CURL_LINE)) as unknown as [string, string, string];
  return { gateway, url, apiKey };
}

/** A caller's own span: a random trace id and span id, as the `traceparent` it sends (sampled). */
function callerSpan(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

async function send(url: string, apiKey: string, params: Record<string, unknown>, headers: Record<string, string>) {
  const answer = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params }),
  });
  expect(answer.status).toBe(200);
  return (await answer.json()) as { result: { task: { id: string; status: { state: string } } } };
}

function toolMessage(tool: string, args: Record<string, unknown>) {
  return { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ data: { tool, arguments: args } }] };
}

interface WebhookHit {
  headers: IncomingHttpHeaders;
  state: string;
}

/** A webhook receiver on loopback: every POST's headers and the task state it told. */
async function startWebhookReceiver(): Promise<{ url: string; hits: WebhookHit[]; server: LoopbackServer }> {
  const hits: WebhookHit[] = [];
  const server = await listenOnLoopback(
    createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { task: { status: { state: string } } };
      hits.push({ headers: request.headers, state: body.task.status.state });
      response.writeHead(204).end();
    }),
  );
  return { url: `${server.baseUrl}/hook`, hits, server };
}

function logLines(gateway: BuiltGateway): Record<string, unknown>[] {
  return gateway
    .stdout()
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

describe.sequential(`traces (${serverUrl ? 'PostgreSQL' : 'embedded database'})`, () => {
  let receiver: OtlpReceiver;
  let llm: FakeLlm;
  let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let gateway: BuiltGateway;
  let apiKey: string;
  let exitCode: number | null;
  const paid = callerSpan();
  let paidTaskId: string;
  const report = callerSpan();

  /** The spans of one trace, and a span's ancestors in it (parent first). */
  const traceOf = (traceId: string) => receiver.spans.filter((span) => span.traceId === traceId);
  const ancestors = (span: ReceivedSpan): ReceivedSpan[] => {
    const parent = receiver.spans.find((other) => other.spanId === span.parentSpanId && other.traceId === span.traceId);
    return parent ? [parent, ...ancestors(parent)] : [];
  };
  const named = (traceId: string, name: string): ReceivedSpan[] => traceOf(traceId).filter((span) => span.name === name);

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    llm = await startFakeLlm();
    webhook = await startWebhookReceiver();
    disposals.push(receiver.close, llm.close, webhook.server.close);
    const started = await startDemoGateway({
      ...(await databaseEnv('traced')),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.baseUrl,
      // Longer than the test: what arrives was exported by the flush at shutdown.
      OTEL_BSP_SCHEDULE_DELAY: '600000',
      LLM_BASE_URL: llm.baseUrl,
      LLM_MODEL: 'test-model',
      PUSH_ALLOW_PRIVATE_NETWORKS: '1',
      PUSH_INTERVAL_MS: '50',
      // The request line of a paid call is written at debug (its paid call line says it all at info).
      LOG_LEVEL: 'debug',
    });
    gateway = started.gateway;
    apiKey = started.apiKey;

    const summary = await send(
      started.url,
      apiKey,
      { message: toolMessage('getReputationSummary', { agentId: 1 }) },
      {
        traceparent: paid.traceparent,
      },
    );
    expect(summary.result.task.status.state).toBe('TASK_STATE_COMPLETED');
    paidTaskId = summary.result.task.id;

    await send(
      started.url,
      apiKey,
      {
        message: toolMessage('getReputationReport', { agentId: 1 }),
        configuration: { returnImmediately: true, taskPushNotificationConfig: { url: webhook.url, token: WEBHOOK_TOKEN } },
      },
      { traceparent: report.traceparent },
    );
    await waitFor(() => webhook.hits.some((hit) => hit.state === 'TASK_STATE_COMPLETED'), 'the report task’s completed notice');
    exitCode = await gateway.stop();
  }, START_TIMEOUT_MS);

  it('exports over OTLP/HTTP JSON to <endpoint>/v1/traces under service.name a2a-paygate, flushed at graceful shutdown', () => {
    expect(exitCode).toBe(0);
    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const request of receiver.requests) {
      expect(request.path).toBe('/v1/traces');
      expect(request.contentType).toBe('application/json');
    }
    expect([...receiver.serviceNames]).toEqual(['a2a-paygate']);
    expect(logLines(gateway).some((line) => line.msg === 'exporting traces over OTLP/HTTP')).toBe(true);
  });

  it("one paid call yields one trace, the caller's: request, authentication, tool and charge, all under the request's span", () => {
    const [request, ...more] = named(paid.traceId, 'POST /a2a');
    expect(more).toEqual([]);
    expect(request).toMatchObject({
      parentSpanId: paid.spanId,
      kind: 2,
      attributes: { 'http.request.method': 'POST', 'http.route': '/a2a', 'http.response.status_code': 200 },
      status: 0,
    });
    const server = request as ReceivedSpan;
    const under = (name: string) => {
      const spans = named(paid.traceId, name);
      expect(spans, name).toHaveLength(1);
      const span = spans[0] as ReceivedSpan;
      expect(
        ancestors(span).map((each) => each.spanId),
        name,
      ).toContain(server.spanId);
      return span;
    };
    expect(under('authenticate').attributes).toEqual({ 'auth.method': 'api_key' });
    expect(under('tool getReputationSummary').attributes).toEqual({ 'tool.name': 'getReputationSummary' });
    const charge = under('charge');
    expect(charge.attributes).toMatchObject({ 'task.id': paidTaskId, 'tool.name': 'getReputationSummary' });
    // The statement the charge waited for is in this trace too: alone in its group, under this call's charge.
    expect(under('charge statement').parentSpanId).toBe(charge.spanId);
    // Every span this call made is in the caller's trace, and no other trace holds one of its task.
    expect(receiver.spans.filter((span) => span.attributes['task.id'] === paidTaskId).map((span) => span.traceId)).toEqual([paid.traceId]);
  });

  it("the paid call's log lines carry its traceId and the span they were written in", () => {
    const server = named(paid.traceId, 'POST /a2a')[0] as ReceivedSpan;
    const line = logLines(gateway).find((each) => each.msg === 'paid call' && each.task === paidTaskId);
    expect(line).toMatchObject({ traceId: paid.traceId, spanId: server.spanId });
    const spanIds = new Set(traceOf(paid.traceId).map((span) => span.spanId));
    const requestLine = logLines(gateway).find((each) => each.msg === 'request' && each.traceId === paid.traceId);
    expect(spanIds.has(String(requestLine?.spanId))).toBe(true);
  });

  it("the LLM call carries a traceparent of the caller's trace, naming the gateway's span of that call", () => {
    expect(llm.requests).toHaveLength(1);
    const [, traceId, spanId] = TRACEPARENT.exec(llm.requests[0]?.traceparent ?? '') ?? [];
    expect(traceId).toBe(report.traceId);
    const chat = traceOf(report.traceId).find((span) => span.spanId === spanId);
    expect(chat).toMatchObject({
      name: 'chat test-model',
      kind: 3,
      attributes: { 'gen_ai.request.model': 'test-model', 'server.address': '127.0.0.1' },
    });
    const names = ancestors(chat as ReceivedSpan).map((span) => span.name);
    expect(names).toEqual(['tool getReputationReport', 'POST /a2a']);
    expect(named(report.traceId, 'POST /a2a')[0]?.parentSpanId).toBe(report.spanId);
  });

  it("a held call's trace holds its reserve and, after the tool run it returned before, its capture", () => {
    const server = named(report.traceId, 'POST /a2a')[0] as ReceivedSpan;
    const [reserve] = named(report.traceId, 'reserve');
    expect(reserve?.attributes).toEqual({ 'tool.name': 'getReputationReport' });
    expect(ancestors(reserve as ReceivedSpan)).toContainEqual(server);
    const [capture, ...more] = named(report.traceId, 'charge');
    expect(more).toEqual([]);
    expect(capture?.attributes).toMatchObject({ 'tool.name': 'getReputationReport', 'charge.settle': 'capture' });
    expect(ancestors(capture as ReceivedSpan)).toContainEqual(server);
  });

  it('each webhook POST carries a traceparent naming its span, in a trace of its delivery of its own', () => {
    expect(webhook.hits.length).toBeGreaterThan(0);
    for (const hit of webhook.hits) {
      const [, traceId, spanId] = TRACEPARENT.exec(String(hit.headers.traceparent)) ?? [];
      const post = receiver.spans.find((span) => span.traceId === traceId && span.spanId === spanId);
      expect(post).toMatchObject({ name: 'webhook POST', kind: 3, attributes: { 'server.address': '127.0.0.1' } });
      const [delivery, ...above] = ancestors(post as ReceivedSpan);
      expect(delivery).toMatchObject({ name: 'push delivery', parentSpanId: undefined, attributes: { 'a2a.protocol': '1.0' } });
      expect(above).toEqual([]);
      expect(traceId).not.toBe(report.traceId);
    }
  });

  it('no span names a path with an id, and none carries the API key, the webhook token or the webhook path', () => {
    const exported = receiver.requests.map((request) => request.body).join('\n');
    expect(exported).not.toContain(apiKey);
    expect(exported).not.toContain('apg_');
    expect(exported).not.toContain(WEBHOOK_TOKEN);
    expect(exported).not.toContain('/hook');
    for (const span of receiver.spans) expect(span.name).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}/);
  });
});

describe.sequential(`without OTEL_EXPORTER_OTLP_ENDPOINT (${serverUrl ? 'PostgreSQL' : 'embedded database'})`, () => {
  it(
    'nothing is traced: no traceparent passed on to the LLM, no traceId in the logs, no exporter started',
    async () => {
      const llm = await startFakeLlm();
      disposals.push(llm.close);
      const { gateway, url, apiKey } = await startDemoGateway({
        ...(await databaseEnv('untraced')),
        // Set but empty counts as unset, as for every variable; the SDK's own settings alone start nothing.
        OTEL_EXPORTER_OTLP_ENDPOINT: '',
        OTEL_SERVICE_NAME: 'would-be-traced',
        LLM_BASE_URL: llm.baseUrl,
        LLM_MODEL: 'test-model',
      });
      const caller = callerSpan();
      const answer = await send(
        url,
        apiKey,
        { message: toolMessage('getReputationReport', { agentId: 1 }) },
        { traceparent: caller.traceparent },
      );
      expect(answer.result.task.status.state).toBe('TASK_STATE_COMPLETED');
      expect(llm.requests).toHaveLength(1);
      expect(llm.requests[0]?.traceparent).toBeUndefined();
      expect(await gateway.stop()).toBe(0);
      const lines = logLines(gateway);
      expect(lines.some((line) => line.msg === 'paid call')).toBe(true);
      expect(lines.filter((line) => 'traceId' in line || 'spanId' in line)).toEqual([]);
      expect(gateway.stdout()).not.toContain(caller.traceId);
      expect(lines.some((line) => line.msg === 'exporting traces over OTLP/HTTP')).toBe(false);
    },
    START_TIMEOUT_MS,
  );
});

describe('a mistyped OTLP endpoint', () => {
  it('stops the start with one line naming the variable, exit code 2', async () => {
    const gateway = startBuiltGateway({ PORT: '0', DATA_DIR: join(scratch, 'never', 'db'), OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' });
    expect(await gateway.exited).toBe(2);
    expect(gateway.stderr().trim()).toBe('invalid config: OTEL_EXPORTER_OTLP_ENDPOINT: must be an http:// or https:// URL');
  });
});
