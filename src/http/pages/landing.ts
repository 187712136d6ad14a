/**
 * GET / : what someone who opens the gateway's address finds. Browsers get a page saying what this
 * is and where to go; API clients get the same links as JSON. (POST / is the A2A endpoint.)
 */

/** Where things are, relative to the gateway's base URL. */
const PLACES = {
  a2a: { path: '/a2a', what: 'the A2A endpoint: JSON-RPC 2.0, A2A 1.0 and 0.3 (POST; / works too)' },
  agentCard: { path: '/.well-known/agent-card.json', what: 'the agent card A2A clients read: skills, prices, interfaces' },
  dashboard: { path: '/dashboard', what: 'sign in with a wallet: balance, usage, tasks, keys, top-ups' },
  reference: { path: '/reference', what: 'the REST API, each route tried from the browser' },
  openapi: { path: '/openapi.json', what: 'the REST API as OpenAPI 3.1' },
  tools: { path: '/v1/tools', what: 'the tools, searchable (?q=, tag, tier): versions, prices and argument JSON Schemas' },
  health: { path: '/healthz', what: 'answers while the process runs (/readyz: while the database answers)' },
} as const;

const DESCRIPTION =
  'A pay-per-query gateway for AI agents: agents call paid tools over A2A, organizations pay from prepaid micro-USDC credit.';

export function landingIndex(baseUrl: string) {
  return {
    name: 'a2a-paygate',
    description: DESCRIPTION,
    links: Object.fromEntries(Object.entries(PLACES).map(([name, place]) => [name, `${baseUrl}${place.path}`])) as Record<
      keyof typeof PLACES,
      string
    >,
  };
}

// The shell lines are the README's: the address and the demo key's file for any PORT / DATA_DIR.
const FIRST_CALL = [
  'GW=${GW:-http://127.0.0.1:${PORT:-3000}}',
  'KEY=$(cat ${DATA_DIR:-.data/pglite}.demo-key)   # the demo key npm start wrote beside DATA_DIR',
  `curl -s $GW/a2a -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \\`,
  `  -d '{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"'$(date +%s%N)'","role":"ROLE_USER",` +
    `"parts":[{"data":{"tool":"getAgentProfile","arguments":{"agentId":1}}}]}}}'`,
].join('\n');

const LINKED: Array<keyof typeof PLACES> = ['dashboard', 'reference', 'agentCard', 'tools', 'openapi'];

export const LANDING_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>a2a-paygate</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; }
  code, pre { font: 13px/1.45 ui-monospace, monospace; }
  /* Long lines wrap rather than scroll: a scrolling block is out of a keyboard's reach, and sideways on a phone. */
  pre { background: #f4f4f4; padding: 0.75rem; white-space: pre-wrap; overflow-wrap: anywhere; }
  li { margin: 0.25rem 0; }
</style>
</head>
<body>
<main>
<h1>a2a-paygate</h1>
<p>${DESCRIPTION} Agents post JSON-RPC to <code>/a2a</code>; each message names a tool from a tiered price table, and a call is charged only when its task completes.</p>
<ul>
${LINKED.map((name) => `<li><a href="${PLACES[name].path}">${PLACES[name].path}</a>: ${PLACES[name].what}</li>`).join('\n')}
</ul>
<h2>A first paid call</h2>
<pre>${FIRST_CALL.replaceAll('&', '&amp;').replaceAll('<', '&lt;')}</pre>
<p>Without the demo (<code>DEMO=1</code>), an operator creates an organization and its key with <code>npm run admin -- create-org</code>.</p>
</main>
</body>
</html>
`;
