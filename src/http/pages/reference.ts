import { type A2AReference, a2aReference } from '../../a2a/reference.js';
import { type McpReference, mcpReference } from '../../mcp/reference.js';
import { clientScript } from './client-script.js';

const SCRIPT = clientScript('reference');

const html = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** A list of methods, each with what it takes, does and answers. */
function methodList(
  id: string,
  methods: readonly { name: string; params?: string; does: string; answers: string; streaming?: boolean; x402?: boolean }[],
): string {
  return `<ul class="methods" id="${id}">${methods
    .map(
      (m) => `<li class="rpc" data-method="${html(m.name)}"><div class="rpc-head"><code class="rpc-name">${html(m.name)}</code>${
        m.streaming ? '<span class="tag">SSE</span>' : ''
      }${m.x402 ? '<span class="tag">x402 without a key</span>' : ''}</div>
<div>${html(m.does)}</div>
${m.params === undefined ? '' : `<div><span class="label">params</span> <code>${html(m.params)}</code></div>`}
<div><span class="label">answers</span> ${html(m.answers)}</div></li>`,
    )
    .join('\n')}</ul>`;
}

function errorTable(id: string, caption: string, rows: readonly { code: string; reason?: string; when: string }[]): string {
  const withReason = rows.some((row) => row.reason !== undefined);
  return `<div class="scroll"><table id="${id}"><caption>${html(caption)}</caption>
<thead><tr><th scope="col">code</th>${withReason ? '<th scope="col">1.0 reason</th>' : ''}<th scope="col">when</th></tr></thead>
<tbody>${rows
    .map(
      (row) =>
        `<tr><td><code>${html(row.code)}</code></td>${withReason ? `<td><code>${html(row.reason ?? '')}</code></td>` : ''}<td>${html(row.when)}</td></tr>`,
    )
    .join('\n')}</tbody></table></div>`;
}

/** POST /a2a: both generations' methods from src/a2a/methods.ts, their auth and error codes. */
function a2aSection(a2a: A2AReference): string {
  return `<section id="a2a" aria-labelledby="a2a-title">
<h2 id="a2a-title"><span class="method post">POST</span> <span class="path">/a2a</span> · A2A JSON-RPC</h2>
<p>JSON-RPC 2.0 (<code>{"jsonrpc":"2.0","id":1,"method":…,"params":…}</code>, batches of up to 100), both A2A generations on one endpoint
(also <code>POST /</code>). A call needs an <code>id</code>. <b>Auth</b>: <code>Authorization: Bearer &lt;API key&gt;</code>; a missing or
unknown key is HTTP 401 with <code>-32000</code>. Without a key, a client that activates the <b>a2a-x402</b> extension
(<code>A2A-Extensions</code> or <code>X-A2A-Extensions</code> header, when the gateway takes x402: see the agent card) sends the
methods marked “x402 without a key” and pays the call itself (README “Paying per call with x402”). The
<code>A2A-Version</code> header (0.3 or 1.0) picks the error shape: 1.0 puts a <code>google.rpc.ErrorInfo</code> in
<code>error.data</code>, 0.3 an object with <code>reason</code>. Methods marked SSE answer with Server-Sent Events.</p>
${a2a.generations
  .map(
    (generation) =>
      `<h3 id="a2a-${generation.version.replace('.', '')}">A2A ${generation.version} methods</h3>\n${methodList(
        `a2a-methods-${generation.version.replace('.', '')}`,
        generation.methods,
      )}`,
  )
  .join('\n')}
<h3>Errors</h3>
${errorTable(
  'a2a-errors',
  'JSON-RPC error codes of /a2a',
  a2a.errors.map((error) => ({ code: String(error.code), reason: error.reason, when: error.when })),
)}
</section>`;
}

/** POST /mcp: the MCP server's methods (src/mcp/), resources, auth and refusals. */
function mcpSection(mcp: McpReference): string {
  return `<section id="mcp" aria-labelledby="mcp-title">
<h2 id="mcp-title"><span class="method post">POST</span> <span class="path">/mcp</span> · MCP</h2>
<p>The Model Context Protocol over Streamable HTTP, stateless: every request stands alone (no <code>initialize</code> needed),
any instance answers it, one JSON-RPC message per POST, <code>Accept: application/json, text/event-stream</code>.
<b>Auth</b>: <code>Authorization: Bearer &lt;API key&gt;</code> (no OAuth flow: give the host the header). The same tools, prices,
key policies and money rules as <code>/a2a</code>; only answered calls are charged.</p>
<h3>Methods</h3>
${methodList('mcp-methods', mcp.methods)}
<h3>Resources</h3>
<ul class="methods" id="mcp-resources">${mcp.resources
    .map(
      (r) =>
        `<li class="rpc"><div class="rpc-head"><code class="rpc-name">${html(r.uri)}</code></div><div>${html(r.title)}: ${html(r.description)}</div></li>`,
    )
    .join('\n')}</ul>
<h3>Errors</h3>
${errorTable(
  'mcp-errors',
  'How /mcp refuses',
  mcp.errors.map((error) => ({ code: error.code, when: error.when })),
)}
</section>`;
}

/**
 * The API reference: the REST routes, rendered in the browser from /openapi.json by
 * reference.client.ts (each with its parameters, body, answers and the errors it can give, and a form
 * that sends it), then the A2A JSON-RPC methods and the MCP endpoint, rendered here from the
 * method tables in src/a2a/ and src/mcp/. The key field is a password field; the dashboard's
 * sign-in, when there is one, is used without being shown (credential.client.ts). No CDN, no framework.
 */
export const REFERENCE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>a2a-paygate · API reference</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; overflow-wrap: anywhere; }
  header { background: #1d2330; color: #fff; padding: 12px 24px; display: flex; gap: 8px 16px; align-items: center; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; flex: 1 1 auto; }
  header a { color: #cde; }
  .key { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; max-width: 100%; }
  .key label { font-size: 13px; }
  .key input { width: 320px; max-width: 100%; padding: 6px; box-sizing: border-box; }
  .key button { margin: 0; padding: 6px 10px; }
  #credential-note { background: #e8f0fb; color: #1d2330; margin: 0; padding: 8px 24px; }
  #credential-note button { margin: 0 0 0 8px; padding: 2px 8px; }
  nav { padding: 8px 24px 0; max-width: 1100px; margin: 0 auto; display: flex; gap: 16px; flex-wrap: wrap; }
  main { max-width: 1100px; margin: 0 auto; padding: 8px 24px 16px; }
  h2 { font-size: 17px; margin: 24px 0 8px; }
  section > h3 { font-size: 14px; margin: 16px 0 6px; text-transform: none; letter-spacing: 0; color: #1d2330; }
  details { background: #fff; border-radius: 8px; margin: 8px 0; box-shadow: 0 1px 2px #0001; }
  summary { padding: 10px 14px; cursor: pointer; display: flex; gap: 4px 10px; align-items: baseline; flex-wrap: wrap; }
  .method { font: 600 12px ui-monospace, monospace; padding: 2px 6px; border-radius: 4px; color: #fff; min-width: 52px; text-align: center; display: inline-block; }
  .get { background: #1a7f37; } .post { background: #0b5cad; } .put { background: #8a5a00; } .delete { background: #b3261e; } .patch { background: #6a3fa0; }
  .path { font-family: ui-monospace, monospace; font-weight: 600; }
  .summary { color: #4a5060; flex-basis: 100%; }
  .body { padding: 0 14px 14px; }
  .body h3 { font-size: 13px; margin: 12px 0 4px; text-transform: uppercase; letter-spacing: .04em; color: #4a5060; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  caption { text-align: left; color: #4a5060; padding: 4px 0; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #e3e5ea; vertical-align: top; }
  td:first-child code, td.where { white-space: nowrap; overflow-wrap: normal; }
  td input { width: 100%; box-sizing: border-box; padding: 4px; min-width: 6em; }
  .scroll { overflow-x: auto; background: #fff; border-radius: 8px; padding: 4px 8px; }
  textarea { width: 100%; box-sizing: border-box; font: 12px ui-monospace, monospace; min-height: 90px; }
  /* Long lines wrap rather than scroll: a scrolling block is out of a keyboard's reach, and sideways on a phone. */
  pre { background: #f3f4f7; padding: 8px; border-radius: 6px; font-size: 12px; margin: 4px 0; white-space: pre-wrap; }
  .muted { color: #4a5060; }
  .errors { list-style: none; padding: 0; margin: 0; }
  .errors li { padding: 2px 0; }
  .errors b { color: #9b1c14; }
  ul.methods { list-style: none; padding: 0; margin: 0; }
  li.rpc { background: #fff; border-radius: 8px; margin: 6px 0; padding: 8px 12px; box-shadow: 0 1px 2px #0001; }
  .rpc-head { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
  .rpc-name { font-weight: 600; }
  .tag { font-size: 11px; background: #eef0f4; border-radius: 4px; padding: 0 6px; color: #33394a; }
  .label { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: #4a5060; }
  button { padding: 6px 14px; cursor: pointer; margin-top: 8px; }
  :focus-visible { outline: 3px solid #4f6bed; outline-offset: 2px; }
  .status-ok { color: #1a7f37; font-weight: 600; } .status-error { color: #b3261e; font-weight: 600; }
  @media (max-width: 600px) {
    header, nav, main { padding-left: 12px; padding-right: 12px; }
    #credential-note { padding: 8px 12px; }
    .key input { width: 100%; flex: 1 1 180px; }
    .body { padding: 0 8px 10px; }
    td, th { padding: 4px 3px; }
  }
</style>
</head>
<body>
<header>
  <h1 id="title">a2a-paygate · API reference</h1>
  <div class="key">
    <label for="token">API key or session token</label>
    <input id="token" type="password" placeholder="apg_…" autocomplete="off" spellcheck="false" autocapitalize="off">
    <button type="button" id="show-token" aria-controls="token" aria-pressed="false">Show</button>
  </div>
  <a href="/openapi.json">openapi.json</a><a href="/dashboard">dashboard</a>
</header>
<p id="credential-note" role="status" hidden>Requests use your dashboard sign-in (kept sealed, not shown) unless you enter a key above.
<button type="button" id="forget-dashboard">Don’t use it here</button></p>
<nav aria-label="sections"><a href="#rest">REST routes</a><a href="#a2a">A2A JSON-RPC</a><a href="#mcp">MCP</a></nav>
<main>
<section id="rest" aria-labelledby="rest-title">
  <h2 id="rest-title">REST routes</h2>
  <p id="intro" class="muted"></p>
  <pre id="envelope"></pre>
  <div id="operations"></div>
</section>
${a2aSection(a2aReference())}
${mcpSection(mcpReference())}
</main>
<script>
${SCRIPT}</script>
</body>
</html>
`;
