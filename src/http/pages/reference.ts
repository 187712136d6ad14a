import { clientScript } from './client-script.js';

const SCRIPT = clientScript('reference');

/**
 * The interactive API reference: one HTML page that reads /openapi.json and renders each operation
 * with its parameters, body and answers, and a form that sends it with the visitor's API key or
 * session token (the dashboard's, from sessionStorage, when there is one). No CDN, no framework:
 * the page is rendered from the document the routes are described by. Its script is reference.client.ts.
 */
export const REFERENCE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>a2a-paygate · REST API reference</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { background: #1d2330; color: #fff; padding: 12px 24px; display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; flex: 1; }
  header input { width: 360px; padding: 6px; }
  header a { color: #cde; }
  main { max-width: 1100px; margin: 0 auto; padding: 16px 24px; }
  details { background: #fff; border-radius: 8px; margin: 8px 0; box-shadow: 0 1px 2px #0001; }
  summary { padding: 10px 14px; cursor: pointer; display: flex; gap: 10px; align-items: baseline; }
  .method { font: 600 12px ui-monospace, monospace; padding: 2px 6px; border-radius: 4px; color: #fff; min-width: 52px; text-align: center; }
  .get { background: #1a7f37; } .post { background: #0b5cad; } .put { background: #8a5a00; } .delete { background: #b3261e; }
  .path { font-family: ui-monospace, monospace; font-weight: 600; }
  .summary { color: #556; }
  .body { padding: 0 14px 14px; }
  h3 { font-size: 13px; margin: 12px 0 4px; text-transform: uppercase; letter-spacing: .04em; color: #667; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #eee; vertical-align: top; }
  td input { width: 100%; box-sizing: border-box; padding: 4px; }
  textarea { width: 100%; box-sizing: border-box; font: 12px ui-monospace, monospace; min-height: 90px; }
  pre { background: #f3f4f7; padding: 8px; border-radius: 6px; overflow-x: auto; font-size: 12px; margin: 4px 0; }
  .muted { color: #667; }
  button { padding: 6px 14px; cursor: pointer; margin-top: 8px; }
  .status-ok { color: #1a7f37; font-weight: 600; } .status-error { color: #b3261e; font-weight: 600; }
</style>
</head>
<body>
<header>
  <h1 id="title">a2a-paygate · REST API</h1>
  <input id="token" placeholder="API key (apg_…) or session token" autocomplete="off" aria-label="bearer token">
  <a href="/openapi.json">openapi.json</a><a href="/dashboard">dashboard</a>
</header>
<main>
  <p id="intro" class="muted"></p>
  <div id="operations"></div>
</main>
<script>
${SCRIPT}</script>
</body>
</html>
`;
