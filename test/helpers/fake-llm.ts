import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type LoopbackServer, listenOnLoopback } from './loopback.js';

/**
 * What the fake chat-completions server does with the next requests: answer a valid report,
 * answer text that is not the report (`malformed`), take forever (`hang`), answer a report only once
 * `release()` is called (`wait`), or fail with HTTP 500.
 */
export type LlmBehaviour = 'report' | 'malformed' | 'hang' | 'wait' | 'fail';

export interface FakeLlm {
  baseUrl: string;
  /** behaviours for the next requests, in order; when used up, `otherwise` */
  script(...next: LlmBehaviour[]): void;
  otherwise: LlmBehaviour;
  /** lets the requests waiting (`wait`) answer */
  release(): void;
  /** resolves once `count` requests have arrived */
  received(count: number): Promise<void>;
  /** requests whose client hung up before the answer (an aborted run) */
  readonly abandoned: number;
  /** the bodies it received */
  readonly requests: {
    model: string;
    messages: { role: string; content: string }[];
    authorization: string | undefined;
    /** the W3C trace context the gateway passed on, when tracing is on */
    traceparent: string | undefined;
  }[];
  close(): Promise<void>;
}

export const FAKE_REPORT = {
  summary: 'The agent has steady positive feedback and passes most validations.',
  strengths: ['consistent scores', 'validated by several validators'],
  weaknesses: ['little feedback in the last week'],
  recommendations: ['ask more clients for feedback'],
  overall_rating: 'B+',
  confidence: 0.8,
};

function completion(content: string) {
  return JSON.stringify({
    id: 'chatcmpl-test',
    object: 'chat.completion',
    model: 'test-model',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
  });
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A real HTTP server on loopback speaking the OpenAI chat-completions protocol (POST /v1/chat/completions). */
export async function startFakeLlm(): Promise<FakeLlm> {
  const queue: LlmBehaviour[] = [];
  const hanging = new Set<() => void>();
  const newGate = () => {
    let open = () => {};
    const opened = new Promise<void>((resolve) => (open = resolve));
    return { opened, open };
  };
  let gate = newGate();
  let loopback: LoopbackServer | undefined;
  const fake: FakeLlm = {
    baseUrl: '',
    script: (...next) => queue.push(...next),
    otherwise: 'report',
    requests: [],
    abandoned: 0,
    release() {
      gate.open();
      gate = newGate();
    },
    async received(count) {
      while (fake.requests.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
    },
    close: async () => {
      for (const release of hanging) release();
      await loopback?.close();
    },
  };
  const server: Server = createServer(async (request, response) => {
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
      response.writeHead(404).end();
      return;
    }
    const body = JSON.parse(await bodyOf(request)) as FakeLlm['requests'][number];
    fake.requests.push({
      model: body.model,
      messages: body.messages,
      authorization: request.headers.authorization,
      traceparent: request.headers.traceparent?.toString(),
    });
    const behaviour = queue.shift() ?? fake.otherwise;
    if (behaviour === 'hang') {
      await new Promise<void>((resolve) => {
        hanging.add(resolve);
        request.once('close', resolve);
      });
      response.destroy();
      return;
    }
    if (behaviour === 'wait') {
      const hungUp = new Promise<boolean>((resolve) => response.once('close', () => resolve(!response.writableFinished)));
      const clientLeft = await Promise.race([gate.opened.then(() => false), hungUp]);
      if (clientLeft) {
        (fake as { abandoned: number }).abandoned += 1;
        return;
      }
    }
    if (behaviour === 'fail') {
      response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"boom"}}');
      return;
    }
    const content = behaviour === 'report' ? JSON.stringify(FAKE_REPORT) : 'Here is your report: it is great!';
    response.writeHead(200, { 'content-type': 'application/json' }).end(completion(content));
  });
  loopback = await listenOnLoopback(server);
  fake.baseUrl = `${loopback.baseUrl}/v1`;
  return fake;
}
