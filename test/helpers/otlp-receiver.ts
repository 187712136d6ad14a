import { createServer, type IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { listenOnLoopback } from './loopback.js';

/** One exported span as OTLP/HTTP JSON carries it (ids in hex), with its attributes flattened. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  links: { traceId: string; spanId: string }[];
  /** OTLP's status code: 0 unset, 1 ok, 2 error */
  status: number;
}

const anyValue = z.object({
  stringValue: z.string().optional(),
  intValue: z.union([z.string(), z.number()]).optional(),
  boolValue: z.boolean().optional(),
  doubleValue: z.number().optional(),
});

const exportRequest = z.object({
  resourceSpans: z.array(
    z.object({
      resource: z.object({ attributes: z.array(z.object({ key: z.string(), value: anyValue })).default([]) }).optional(),
      scopeSpans: z.array(
        z.object({
          spans: z.array(
            z.object({
              traceId: z.string(),
              spanId: z.string(),
              parentSpanId: z.string().optional(),
              name: z.string(),
              kind: z.number(),
              attributes: z.array(z.object({ key: z.string(), value: anyValue })).default([]),
              links: z.array(z.object({ traceId: z.string(), spanId: z.string() })).default([]),
              status: z.object({ code: z.number().default(0) }).default({ code: 0 }),
            }),
          ),
        }),
      ),
    }),
  ),
});

function attributeValue(value: z.infer<typeof anyValue>): string | number | boolean {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  return value.boolValue ?? '';
}

export interface OtlpReceiver {
  /** http://127.0.0.1:<port>, what OTEL_EXPORTER_OTLP_ENDPOINT names */
  baseUrl: string;
  /** every request it took, whatever its path */
  readonly requests: { path: string; contentType: string | undefined; body: string }[];
  readonly spans: ReceivedSpan[];
  /** the `service.name` of the resources exported */
  readonly serviceNames: Set<string>;
  close(): Promise<void>;
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return (request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
}

/** An OpenTelemetry collector's OTLP/HTTP traces endpoint (POST /v1/traces, JSON) on loopback, keeping what it is sent. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const receiver: OtlpReceiver = { baseUrl: '', requests: [], spans: [], serviceNames: new Set(), close: async () => {} };
  const server = createServer(async (request, response) => {
    const body = await bodyOf(request);
    receiver.requests.push({ path: request.url ?? '', contentType: request.headers['content-type'], body });
    if (request.method !== 'POST' || request.url !== '/v1/traces') {
      response.writeHead(404).end();
      return;
    }
    const parsed = exportRequest.safeParse(JSON.parse(body));
    if (!parsed.success) {
      response.writeHead(400, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    for (const resourceSpans of parsed.data.resourceSpans) {
      const name = resourceSpans.resource?.attributes.find((attribute) => attribute.key === 'service.name');
      if (name) receiver.serviceNames.add(String(attributeValue(name.value)));
      for (const span of resourceSpans.scopeSpans.flatMap((scope) => scope.spans)) {
        receiver.spans.push({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId || undefined,
          name: span.name,
          kind: span.kind,
          attributes: Object.fromEntries(span.attributes.map((attribute) => [attribute.key, attributeValue(attribute.value)])),
          links: span.links,
          status: span.status.code,
        });
      }
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  const loopback = await listenOnLoopback(server);
  receiver.baseUrl = loopback.baseUrl;
  receiver.close = loopback.close;
  return receiver;
}
