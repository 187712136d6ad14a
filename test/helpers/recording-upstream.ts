import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { type LoopbackServer, listenOnLoopback } from './loopback.js';

/** One request an upstream of the tests' own received, body read whole. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A provider's upstream on loopback (issue 19's tests): every request is read whole, pushed on
 * `received`, then answered by `answer`.
 */
export async function startRecordingUpstream(
  answer: (request: Received, res: ServerResponse) => void,
): Promise<LoopbackServer & { received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const request = { path: req.url ?? '', headers: req.headers, body };
      received.push(request);
      answer(request, res);
    });
  });
  return { ...(await listenOnLoopback(server)), received };
}

/** Answers `value` as JSON with `status`. */
export const answerJson = (res: ServerResponse, status: number, value: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
};
