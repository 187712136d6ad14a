import { createServer, type Server } from 'node:http';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { createPublicClient, http, type PublicClient } from 'viem';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { indexerLogReader, indexOnce } from '../../src/indexer/indexer.js';
import { type LocalChain, startLocalChain } from '../helpers/chain.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { listenOnLoopback } from '../helpers/loopback.js';
import { catchUp, deployRegistries, indexerDeps, type Registries, registryCalls } from './support.js';

/** What providers answer when an eth_getLogs range is too wide (Alchemy, Infura, QuickNode wordings). */
const TOO_LARGE = [
  'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size.',
  'query returned more than 10000 results',
  'eth_getLogs is limited to a 10000 range',
];

/**
 * An RPC provider in front of anvil with a provider's limits: eth_getLogs over more than
 * `maxSpan` blocks is refused with one of the wordings above, and the first `rateLimited`
 * eth_getLogs calls get HTTP 429.
 */
async function startLimitedProvider(upstream: string, limits: { maxSpan: number; rateLimited: number }) {
  const seen = { spans: [] as number[], refusedTooLarge: 0, refusedRate: 0 };
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      id: number;
      method: string;
      params: [{ fromBlock: string; toBlock: string }];
    };
    if (body.method === 'eth_getLogs') {
      if (seen.refusedRate < limits.rateLimited) {
        seen.refusedRate++;
        response
          .writeHead(429, { 'content-type': 'application/json' })
          .end(JSON.stringify({ jsonrpc: '2.0', id: body.id, error: { code: 429, message: 'Too Many Requests' } }));
        return;
      }
      const span = Number(BigInt(body.params[0].toBlock) - BigInt(body.params[0].fromBlock)) + 1;
      if (span > limits.maxSpan) {
        const message = TOO_LARGE[seen.refusedTooLarge++ % TOO_LARGE.length];
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ jsonrpc: '2.0', id: body.id, error: { code: -32602, message } }));
        return;
      }
      seen.spans.push(span);
    }
    const forwarded = await fetch(upstream, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    response.writeHead(forwarded.status, { 'content-type': 'application/json' }).end(await forwarded.text());
  });
  const loopback = await listenOnLoopback(server);
  return { url: loopback.baseUrl, seen, close: loopback.close };
}

describe('provider limits: ranges halve on "too large", rate limits back off, nothing is missed', () => {
  let chain: LocalChain;
  let direct: TestDatabase;
  let limited: TestDatabase;
  let registries: Registries;
  let provider: Awaited<ReturnType<typeof startLimitedProvider>>;

  beforeAll(async () => {
    chain = await startLocalChain();
    [direct, limited] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    const [deployer, owner, client] = await Promise.all([chain.fundedWallet(), chain.fundedWallet(), chain.fundedWallet()]);
    registries = await deployRegistries(chain, deployer);
    const calls = registryCalls(registries);
    await chain.write(owner, calls.register('https://agents.example/zero.json'));
    for (let n = 0; n < 30; n++) {
      await chain.write(client, calls.giveFeedback(0n, BigInt(n), 0, 'starred'));
      await chain.mine(2);
    }
    provider = await startLimitedProvider(chain.rpcUrl, { maxSpan: 7, rateLimited: 3 });
  }, 60_000);
  afterAll(async () => {
    await provider?.close();
    await Promise.all([direct?.dispose(), limited?.dispose()]);
    await chain?.stop();
  });

  it('indexes through the limited provider exactly what it indexes directly', async () => {
    const directEvents = await catchUp(indexerDeps(direct.db, chain, registries, { maxBlockRange: 1000n }));

    const client = createPublicClient({ chain: foundry, transport: http(provider.url, { retryCount: 0 }) }) as PublicClient;
    const deps = { ...indexerDeps(limited.db, chain, registries, { maxBlockRange: 1000n }), client, log: pino({ level: 'silent' }) };
    const reader = indexerLogReader(deps);
    let limitedEvents = 0;
    for (let pass = 0; pass < 500; pass++) {
      const outcome = await indexOnce(deps, reader);
      limitedEvents += outcome.events;
      if (!outcome.more) break;
    }

    expect(limitedEvents).toBe(directEvents);
    expect(provider.seen.refusedRate).toBe(3);
    expect(provider.seen.refusedTooLarge).toBeGreaterThan(0);
    expect(Math.max(...provider.seen.spans)).toBeLessThanOrEqual(7);
    const rows = (db: TestDatabase) =>
      db.db.rows(
        z.object({ agent_id: z.bigint(), client_address: z.string(), feedback_index: z.bigint(), value: z.string() }),
        sql`select agent_id, client_address, feedback_index, value::text from feedbacks order by feedback_index`,
      );
    expect(await rows(limited)).toEqual(await rows(direct));
    expect(await rows(limited)).toHaveLength(30);
  });
});
