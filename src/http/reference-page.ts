/**
 * The interactive API reference: one HTML page that reads /openapi.json and renders each operation
 * with its parameters, body and answers, and a form that sends it with the visitor's API key or
 * session token (the dashboard's, from sessionStorage, when there is one). No CDN, no framework:
 * the page is rendered from the document the routes are described by.
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
const CREDENTIAL_KEY = 'paygate-credential';
const $ = (id) => document.getElementById(id);
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children) if (child !== undefined && child !== null) node.append(child);
  return node;
}

/** A schema as an indented outline: field, type, description. */
function outline(schema, indent) {
  indent = indent || '';
  if (!schema || typeof schema !== 'object') return 'any';
  if (schema.anyOf) return schema.anyOf.map((s) => outline(s, indent)).join(' | ');
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type;
  if (type === 'array') return outline(schema.items, indent) + '[]';
  if (type === 'object' && schema.properties) {
    const required = new Set(schema.required || []);
    const lines = Object.entries(schema.properties).map(([name, field]) =>
      indent + '  ' + name + (required.has(name) ? '' : '?') + ': ' + outline(field, indent + '  ') + (field.description ? '   // ' + field.description : ''));
    return '{\\n' + lines.join('\\n') + '\\n' + indent + '}';
  }
  return (type || 'any') + (schema.format ? ' (' + schema.format + ')' : schema.pattern ? ' /' + schema.pattern + '/' : '');
}

/** A value the schema accepts, to start a request body from. */
function example(schema) {
  if (!schema || typeof schema !== 'object') return null;
  if (schema.default !== undefined) return schema.default;
  if (schema.enum) return schema.enum[0];
  if (schema.anyOf) return example(schema.anyOf[0]);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'object') {
    const required = new Set(schema.required || []);
    return Object.fromEntries(Object.entries(schema.properties || {}).filter(([name]) => required.has(name)).map(([name, field]) => [name, example(field)]));
  }
  if (type === 'array') return [];
  if (type === 'integer' || type === 'number') return schema.minimum || 0;
  if (type === 'boolean') return false;
  if (schema.format === 'date-time') return new Date(Date.now() + 86400000).toISOString();
  return '';
}

function shellQuote(text) { return "'" + text.replace(/'/g, "'\\\\''") + "'"; }

function operationView(path, method, operation, spec) {
  const params = operation.parameters || [];
  const inputs = {};
  const paramRows = params.map((p) => {
    const input = el('input', { name: p.name, placeholder: p.in + (p.required ? ', required' : '') });
    inputs[p.name] = { input, where: p.in };
    return el('tr', {}, el('td', {}, el('code', {}, p.name)), el('td', { class: 'muted' }, p.in), el('td', {}, el('code', {}, outline(p.schema))), el('td', {}, input));
  });
  const bodySchema = operation.requestBody && operation.requestBody.content['application/json'].schema;
  const body = bodySchema ? el('textarea', { 'aria-label': 'request body' }) : null;
  if (body) body.value = JSON.stringify(example(bodySchema), null, 2);
  const answers = Object.entries(operation.responses).map(([status, response]) => {
    const resolved = response.$ref ? spec.components.responses[response.$ref.split('/').pop()] : response;
    const content = resolved.content && Object.entries(resolved.content)[0];
    return el('div', {}, el('b', {}, status + ' '), el('span', { class: 'muted' }, resolved.description),
      content && !response.$ref ? el('pre', {}, content[0] + ' ' + outline(content[1].schema)) : null);
  });
  const result = el('div', { class: 'result' });
  const send = el('button', { class: 'send' }, 'Send');
  send.onclick = async () => {
    let url = path;
    const query = new URLSearchParams();
    for (const [name, { input, where }] of Object.entries(inputs)) {
      if (!input.value) continue;
      if (where === 'path') url = url.replace('{' + name + '}', encodeURIComponent(input.value));
      else query.set(name, input.value);
    }
    if (query.size) url += '?' + query.toString();
    const token = $('token').value.trim();
    const headers = {};
    if (token) headers.authorization = 'Bearer ' + token;
    if (body) headers['content-type'] = 'application/json';
    const started = performance.now();
    const response = await fetch(url, { method: method.toUpperCase(), headers, body: body ? body.value : undefined });
    const text = await response.text();
    let shown = text;
    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch {}
    const curl = 'curl -sS -X ' + method.toUpperCase() + ' ' + shellQuote(location.origin + url) +
      (token ? " -H 'authorization: Bearer $KEY'" : '') + (body ? " -H 'content-type: application/json' -d " + shellQuote(body.value.replace(/\\s*\\n\\s*/g, ' ')) : '');
    result.replaceChildren(
      el('p', {}, el('span', { class: response.ok ? 'status-ok' : 'status-error' }, 'HTTP ' + response.status), ' in ' + Math.round(performance.now() - started) + ' ms'),
      el('pre', { class: 'response' }, shown || '(no body)'),
      el('h3', {}, 'The same with curl'),
      el('pre', { class: 'curl' }, curl));
  };
  const security = operation.security && operation.security.length ? operation.security.map((s) => Object.keys(s)[0]).join(' or ') : 'none';
  return el('details', { id: method + '-' + path.replace(/[^a-z0-9]+/gi, '-') },
    el('summary', {}, el('span', { class: 'method ' + method }, method.toUpperCase()), el('span', { class: 'path' }, path), el('span', { class: 'summary' }, operation.summary)),
    el('div', { class: 'body' },
      el('p', { class: 'muted' }, 'Authorization: ' + security),
      params.length ? el('h3', {}, 'Parameters') : null,
      params.length ? el('table', {}, el('tbody', {}, ...paramRows)) : null,
      body ? el('h3', {}, 'Body (application/json)') : null,
      body ? el('pre', {}, outline(bodySchema)) : null,
      body,
      el('h3', {}, 'Answers'),
      ...answers,
      send,
      result));
}

async function start() {
  $('token').value = sessionStorage.getItem(CREDENTIAL_KEY) || '';
  $('token').onchange = () => sessionStorage.setItem(CREDENTIAL_KEY, $('token').value.trim());
  const spec = await (await fetch('/openapi.json')).json();
  document.title = spec.info.title + ' ' + spec.info.version;
  $('title').textContent = spec.info.title + ' · ' + spec.info.version;
  $('intro').textContent = spec.info.description + ' Errors share one envelope: ' + outline(spec.components.responses.Error.content['application/json'].schema).replace(/\\s+/g, ' ');
  const views = [];
  for (const [path, operations] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(operations)) views.push(operationView(path, method, operation, spec));
  }
  $('operations').replaceChildren(...views);
}
start();
</script>
</body>
</html>
`;
