import { createServer } from 'node:net';
import { Hono } from 'hono';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ListenError, listen } from '../../src/http/listener.js';

const log = pino({ level: 'silent' });

describe('the start-up listener (bound before the database is opened)', () => {
  it('answers 503 starting with Retry-After until the app is handed over, then the app answers', async () => {
    const listener = await listen({ port: 0, host: '127.0.0.1', log });
    try {
      const early = await fetch(`http://127.0.0.1:${listener.port}/healthz`);
      expect(early.status).toBe(503);
      expect(early.headers.get('retry-after')).toBe('1');
      expect(await early.json()).toMatchObject({ error: { code: 'unavailable', reason: 'starting', requestId: expect.any(String) } });

      listener.serve(new Hono().get('/healthz', (c) => c.json({ status: 'ok' })));
      const ready = await fetch(`http://127.0.0.1:${listener.port}/healthz`);
      expect(ready.status).toBe(200);
    } finally {
      listener.server.closeAllConnections();
      await new Promise((resolve) => listener.server.close(resolve));
    }
  });

  it('a port in use is a ListenError naming PORT', async () => {
    const occupier = createServer();
    await new Promise<void>((resolve) => occupier.listen(0, '127.0.0.1', resolve));
    const port = (occupier.address() as { port: number }).port;
    try {
      const refused = await listen({ port, host: '127.0.0.1', log }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(ListenError);
      expect((refused as Error).message).toMatch(new RegExp(`^PORT ${port} on 127\\.0\\.0\\.1 is already in use`));
    } finally {
      await new Promise((resolve) => occupier.close(resolve));
    }
  });
});
