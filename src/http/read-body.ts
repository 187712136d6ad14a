import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { asClientAbort } from './client-aborted.js';

/** As Fetch's `text()` decodes: a leading byte-order mark is dropped, bad sequences become U+FFFD. */
const utf8 = new TextDecoder();

export type BodyRead = { ok: true; text: string } | { ok: false };

/**
 * The request body as UTF-8 text, or `{ ok: false }` once it passes `maxBytes` (a declared
 * Content-Length over the limit is refused before a byte is read).
 *
 * Under @hono/node-server it reads Node's IncomingMessage directly: going through the Fetch
 * `Request` would build a web stream, an AbortSignal and an undici Request for every call, about a
 * tenth of the gateway's CPU per paid call in the bench. Elsewhere (`app.request` in tests) it
 * reads the Fetch body with the same limit.
 */
export async function readBody(c: Context, maxBytes: number): Promise<BodyRead> {
  const declared = Number(c.req.header('content-length') ?? Number.NaN);
  if (declared > maxBytes) return { ok: false };
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  // Node's request yields Buffers (no encoding is set), the Fetch body Uint8Arrays.
  const chunks: AsyncIterable<Uint8Array> = incoming ?? fetchBodyChunks(c);
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of chunks) {
      size += chunk.byteLength;
      if (size > maxBytes) return { ok: false };
      parts.push(chunk);
    }
  } catch (error) {
    throw asClientAbort(c, error);
  }
  return { ok: true, text: utf8.decode(parts.length === 1 ? parts[0] : Buffer.concat(parts, size)) };
}

async function* fetchBodyChunks(c: Context): AsyncIterable<Uint8Array> {
  const body = c.req.raw.body;
  if (body) yield* body as unknown as AsyncIterable<Uint8Array>;
}
