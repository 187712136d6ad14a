import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export interface McpClientOptions {
  /** sent as Authorization: Bearer; none: no Authorization header */
  apiKey?: string;
  /** more headers on every request (an Origin, say) */
  headers?: Record<string, string>;
  /** the fetch the transport uses (a test alternates instances with it) */
  fetch?: typeof fetch;
}

/**
 * An MCP client of the official SDK, connected (initialized) to `<baseUrl>/mcp` over Streamable
 * HTTP, as an MCP host connects to a remote server. Close it when done.
 */
export async function connectMcp(baseUrl: string, options: McpClientOptions = {}): Promise<Client> {
  const client = new Client({ name: 'a2a-paygate-tests', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), {
    requestInit: {
      headers: { ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}), ...options.headers },
    },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  await client.connect(transport);
  return client;
}
