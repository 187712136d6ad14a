import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { buildGateway } from '../helpers/built-gateway.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { needs } from '../helpers/requirements.js';
import { freePort, type GatewayProcess, outputsOf, startGatewayProcess, waitReady } from '../robustness/support.js';

/**
 * GET /metrics (issue 17, first part): the Prometheus text format, HTTP requests counted by route
 * pattern and status, never an id in a label; a token when METRICS_TOKEN is set; a port of its own
 * with METRICS_PORT.
 */

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** The value of one sample line, e.g. `paygate_http_requests_total{route="/v1/tools",status="200"}`. */
function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics on the main port', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway.close());

  const scrape = async () => {
    const response = await gateway.app.request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text();
  };

  it('counts requests by route pattern and status, exactly, and times them', async () => {
    const before = await scrape();
    const series = 'paygate_http_requests_total{route="/v1/tools",status="200"}';
    const counted = sample(before, series) ?? 0;
    for (let i = 0; i < 3; i++) expect((await gateway.app.request('/v1/tools')).status).toBe(200);
    const after = await scrape();
    expect(sample(after, series)).toBe(counted + 3);
    expect(sample(after, 'paygate_http_request_duration_seconds_count{route="/v1/tools"}')).toBeGreaterThanOrEqual(3);
    expect(after).toContain('# TYPE paygate_http_request_duration_seconds histogram');
  });

  it('labels a route by its pattern, never the id in its path, and unknown paths as unmatched', async () => {
    const org = await gateway.createOrg();
    const keyId = randomUUID();
    expect((await gateway.app.request(`/v1/keys/${keyId}`, { method: 'DELETE' })).status).toBe(401);
    expect((await gateway.app.request(`/no/such/${randomUUID()}`)).status).toBe(404);
    expect((await gateway.rpc({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: randomUUID() } }, org.apiKey.key)).status).toBe(
      200,
    );
    const exposition = await scrape();
    expect(exposition).toContain('paygate_http_requests_total{route="/v1/keys/:id",status="401"}');
    expect(exposition).toContain('route="unmatched",status="404"');
    expect(exposition).toContain('paygate_http_requests_total{route="/a2a",status="200"}');
    expect(exposition).not.toMatch(UUID);
    expect(exposition).not.toContain(org.orgId);
    expect(exposition).not.toContain(org.apiKey.key);
  });
});

describe(
  'GET /metrics with METRICS_TOKEN, and on METRICS_PORT (PostgreSQL only: the gateway runs as a child process)',
  needs('postgres'),
  () => {
    let database: TestDatabase;
    const children: GatewayProcess[] = [];
    beforeAll(async () => {
      await buildGateway();
      database = await createTestDatabase();
    });
    afterAll(async () => {
      for (const child of children) await child.kill();
      await database?.dispose();
    });

    it('with a token: 401 without it or with another, 200 with it', async () => {
      onTestFailed(() => console.error(outputsOf(children)));
      const token = 'a-metrics-token-of-32-characters';
      const gateway = startGatewayProcess({
        name: 'tokened',
        databaseUrl: database.url as string,
        port: await freePort(),
        env: { METRICS_TOKEN: token },
      });
      children.push(gateway);
      await waitReady(gateway);
      const scrape = (authorization?: string) =>
        fetch(`${gateway.baseUrl}/metrics`, { headers: authorization ? { authorization } : {} }).then((response) => response.status);
      expect(await scrape()).toBe(401);
      expect(await scrape('Bearer another-token-of-32-characters!')).toBe(401);
      expect(await scrape(`Bearer ${token}`)).toBe(200);
      const exposition = await (await fetch(`${gateway.baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
      expect(exposition).toContain('process_cpu_seconds_total');
      expect(exposition).not.toContain(token);
      await gateway.kill();
    });

    it('with METRICS=off: no /metrics on either port', async () => {
      onTestFailed(() => console.error(outputsOf(children)));
      const metricsPort = await freePort();
      const gateway = startGatewayProcess({
        name: 'unmetered',
        databaseUrl: database.url as string,
        port: await freePort(),
        env: { METRICS: 'off', METRICS_PORT: String(metricsPort) },
      });
      children.push(gateway);
      await waitReady(gateway);
      expect((await fetch(`${gateway.baseUrl}/metrics`)).status).toBe(404);
      await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow();
      await gateway.kill();
    });

    it('with a port of its own: served there, not on the main port', async () => {
      onTestFailed(() => console.error(outputsOf(children)));
      const metricsPort = await freePort();
      const gateway = startGatewayProcess({
        name: 'ported',
        databaseUrl: database.url as string,
        port: await freePort(),
        env: { METRICS_PORT: String(metricsPort) },
      });
      children.push(gateway);
      await waitReady(gateway);
      expect((await fetch(`${gateway.baseUrl}/metrics`)).status).toBe(404);
      const own = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(own.status).toBe(200);
      expect(await own.text()).toContain('paygate_http_requests_total{route="/readyz",status="200"}');
      await gateway.kill();
    });
  },
);
