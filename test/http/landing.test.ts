import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useSeededGateway } from '../helpers/seeded-gateway.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

describe('GET / : a page for browsers, JSON for API clients; POST / stays the A2A endpoint', () => {
  const suite = useSeededGateway();

  it('a browser gets a small HTML page linking the dashboard, the reference, the agent card and a first curl call', async () => {
    const response = await suite.gateway.app.request('/', { headers: { accept: BROWSER_ACCEPT } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('vary')).toMatch(/accept/i);
    const page = await response.text();
    for (const path of ['/dashboard', '/reference', '/.well-known/agent-card.json']) expect(page).toContain(`href="${path}"`);
    expect(page).toContain('GW=${GW:-http://127.0.0.1:${PORT:-3000}}');
    expect(page).toContain('${DATA_DIR:-.data/pglite}.demo-key');
    expect(page).toMatch(/curl -s \$GW\/a2a/);
  });

  it.each([
    { client: 'curl (*/*)', accept: '*/*' },
    { client: 'no Accept header', accept: undefined },
    { client: 'a JSON client', accept: 'application/json' },
  ])('$client gets JSON whose links all answer', async ({ accept }) => {
    const response = await suite.gateway.app.request('http://gw.test/', { headers: accept ? { accept } : {} });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const index = (await response.json()) as { name: string; links: Record<string, string> };
    expect(index.name).toBe('a2a-paygate');
    expect(index.links).toMatchObject({
      a2a: 'http://gw.test/a2a',
      agentCard: 'http://gw.test/.well-known/agent-card.json',
      dashboard: 'http://gw.test/dashboard',
      reference: 'http://gw.test/reference',
    });
    for (const [name, url] of Object.entries(index.links)) {
      if (name === 'a2a') continue;
      expect((await suite.gateway.app.request(url)).status, url).toBe(200);
    }
  });

  it('POST / still runs a paid call', async () => {
    const org = await suite.gateway.createOrg({ credits: 1_000_000n });
    const messageId = randomUUID();
    const response = await suite.gateway.app.request('/', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${org.apiKey.key}` },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'SendMessage',
        params: { message: { messageId, role: 'ROLE_USER', parts: [{ data: { tool: 'getAgentProfile', arguments: { agentId: 1 } } }] } },
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { result?: { task?: { status?: { state?: string } } } };
    expect(body.result?.task?.status?.state).toBe('TASK_STATE_COMPLETED');
  });
});
