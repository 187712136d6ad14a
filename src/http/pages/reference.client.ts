/**
 * The API reference's browser script: reads /openapi.json and renders each operation with its
 * parameters, body, answers and the errors it can give, and a form that sends it with the key typed
 * in the (password) field, else the dashboard's sign-in, unsealed from this tab's storage and never
 * shown (credential.client.ts). A key typed here is kept nowhere.
 */

import { keptCredential } from './credential.client.js';

/** The parts of a JSON Schema the page prints and fills forms from. */
interface Schema {
  type?: string | string[];
  format?: string;
  pattern?: string;
  description?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  anyOf?: Schema[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
}

interface Response {
  $ref?: string;
  description: string;
  content?: Record<string, { schema: Schema }>;
}

interface Operation {
  summary: string;
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, Response>;
}

interface Spec {
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, Response> };
}

/** the dashboard's sign-in, when there is one and the visitor has not set it aside */
let dashboardCredential: string | null = null;
const $ = (id: string) => document.getElementById(id) as HTMLInputElement;
function el(tag: string, attributes?: Record<string, string>, ...children: (Node | string | null | undefined)[]): HTMLElement {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children) if (child !== undefined && child !== null) node.append(child);
  return node;
}

/** A schema as an indented outline: field, type, description. */
function outline(schema: Schema | undefined, indent?: string): string {
  indent = indent || '';
  if (!schema || typeof schema !== 'object') return 'any';
  if (schema.anyOf) return schema.anyOf.map((s) => outline(s, indent)).join(' | ');
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type;
  if (type === 'array') return outline(schema.items, indent) + '[]';
  if (type === 'object' && schema.properties) {
    const required = new Set(schema.required || []);
    const lines = Object.entries(schema.properties).map(
      ([name, field]) =>
        indent +
        '  ' +
        name +
        (required.has(name) ? '' : '?') +
        ': ' +
        outline(field, indent + '  ') +
        (field.description ? '   // ' + field.description : ''),
    );
    return '{\n' + lines.join('\n') + '\n' + indent + '}';
  }
  return (type || 'any') + (schema.format ? ' (' + schema.format + ')' : schema.pattern ? ' /' + schema.pattern + '/' : '');
}

/** A value the schema accepts, to start a request body from. */
function example(schema: Schema | undefined): unknown {
  if (!schema || typeof schema !== 'object') return null;
  if (schema.default !== undefined) return schema.default;
  if (schema.enum) return schema.enum[0];
  if (schema.anyOf) return example(schema.anyOf[0]);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'object') {
    const required = new Set(schema.required || []);
    return Object.fromEntries(
      Object.entries(schema.properties || {})
        .filter(([name]) => required.has(name))
        .map(([name, field]) => [name, example(field)]),
    );
  }
  if (type === 'array') return [];
  if (type === 'integer' || type === 'number') return schema.minimum || 0;
  if (type === 'boolean') return false;
  if (schema.format === 'date-time') return new Date(Date.now() + 86400000).toISOString();
  return '';
}

function shellQuote(text: string) {
  return "'" + text.replace(/'/g, "'\\''") + "'";
}

function operationView(path: string, method: string, operation: Operation, spec: Spec) {
  const params = operation.parameters || [];
  const inputs: Record<string, { input: HTMLInputElement; where: Parameter['in'] }> = {};
  const paramRows = params.map((p) => {
    const input = el('input', {
      name: p.name,
      placeholder: p.in + (p.required ? ', required' : ''),
      'aria-label': p.name + ' (' + p.in + ' parameter of ' + method.toUpperCase() + ' ' + path + ')',
    }) as HTMLInputElement;
    inputs[p.name] = { input, where: p.in };
    return el(
      'tr',
      {},
      el('td', {}, el('code', {}, p.name)),
      el('td', { class: 'muted where' }, p.in),
      el('td', {}, el('code', {}, outline(p.schema))),
      el('td', {}, input),
    );
  });
  const bodySchema = operation.requestBody?.content['application/json']?.schema;
  const body = bodySchema
    ? (el('textarea', { 'aria-label': 'request body of ' + method.toUpperCase() + ' ' + path }) as HTMLTextAreaElement)
    : null;
  if (body) body.value = JSON.stringify(example(bodySchema), null, 2);
  // Answers, then the errors this route can give: the statuses its document lists, each with its code and reasons.
  const answers: HTMLElement[] = [];
  const errors: HTMLElement[] = [];
  for (const [status, response] of Object.entries(operation.responses)) {
    const resolved = response.$ref
      ? {
          ...(spec.components.responses[response.$ref.split('/').pop() ?? ''] as Response),
          ...(response.description ? { description: response.description } : {}),
        }
      : response;
    if (Number(status) >= 400) {
      errors.push(el('li', { 'data-status': status }, el('b', {}, status), ' ', el('span', {}, resolved.description)));
      continue;
    }
    const content = resolved.content && Object.entries(resolved.content)[0];
    answers.push(
      el(
        'div',
        {},
        el('b', {}, status + ' '),
        el('span', { class: 'muted' }, resolved.description),
        content ? el('pre', {}, content[0] + ' ' + outline(content[1].schema)) : null,
      ),
    );
  }
  const result = el('div', { class: 'result' });
  const send = el('button', { type: 'button', class: 'send', 'aria-label': 'Send ' + method.toUpperCase() + ' ' + path }, 'Send');
  send.onclick = async () => {
    let url = path;
    const query = new URLSearchParams();
    for (const [name, { input, where }] of Object.entries(inputs)) {
      if (!input.value) continue;
      if (where === 'path') url = url.replace('{' + name + '}', encodeURIComponent(input.value));
      else if (where === 'query') query.set(name, input.value);
    }
    if (query.size) url += '?' + query.toString();
    const token = $('token').value.trim() || dashboardCredential;
    const headers: Record<string, string> = {};
    for (const [name, { input, where }] of Object.entries(inputs)) if (where === 'header' && input.value) headers[name] = input.value;
    if (token) headers.authorization = 'Bearer ' + token;
    if (body) headers['content-type'] = 'application/json';
    const started = performance.now();
    const response = await fetch(url, { method: method.toUpperCase(), headers, body: body ? body.value : undefined });
    const text = await response.text();
    let shown = text;
    try {
      shown = JSON.stringify(JSON.parse(text), null, 2);
    } catch {}
    const curl =
      'curl -sS -X ' +
      method.toUpperCase() +
      ' ' +
      shellQuote(location.origin + url) +
      (token ? " -H 'authorization: Bearer $KEY'" : '') +
      Object.entries(headers)
        .filter(([name]) => name !== 'authorization' && name !== 'content-type')
        .map(([name, value]) => ' -H ' + shellQuote(name + ': ' + value))
        .join('') +
      (body ? " -H 'content-type: application/json' -d " + shellQuote(body.value.replace(/\s*\n\s*/g, ' ')) : '');
    result.replaceChildren(
      el(
        'p',
        {},
        el('span', { class: response.ok ? 'status-ok' : 'status-error' }, 'HTTP ' + response.status),
        ' in ' + Math.round(performance.now() - started) + ' ms',
      ),
      el('pre', { class: 'response' }, shown || '(no body)'),
      el('h3', {}, 'The same with curl'),
      el('pre', { class: 'curl' }, curl),
    );
  };
  const security = operation.security?.length ? operation.security.map((s) => Object.keys(s)[0]).join(' or ') : 'none';
  return el(
    'details',
    { id: method + '-' + path.replace(/[^a-z0-9]+/gi, '-') },
    el(
      'summary',
      {},
      el('span', { class: 'method ' + method }, method.toUpperCase()),
      el('span', { class: 'path' }, path),
      el('span', { class: 'summary' }, operation.summary),
    ),
    el(
      'div',
      { class: 'body' },
      el('p', { class: 'muted' }, 'Authorization: ' + security),
      params.length ? el('h3', {}, 'Parameters') : null,
      params.length ? el('table', {}, el('tbody', {}, ...paramRows)) : null,
      body ? el('h3', {}, 'Body (application/json)') : null,
      body ? el('pre', {}, outline(bodySchema)) : null,
      body,
      el('h3', {}, 'Answers'),
      ...answers,
      errors.length ? el('h3', {}, 'Errors') : null,
      errors.length ? el('ul', { class: 'errors' }, ...errors) : el('p', { class: 'muted' }, 'No error of its own.'),
      send,
      result,
    ),
  );
}

function keyField() {
  const token = $('token');
  const show = $('show-token');
  show.onclick = () => {
    const shown = token.type === 'password';
    token.type = shown ? 'text' : 'password';
    show.textContent = shown ? 'Hide' : 'Show';
    show.setAttribute('aria-pressed', String(shown));
  };
  $('forget-dashboard').onclick = () => {
    dashboardCredential = null;
    $('credential-note').hidden = true;
    token.focus();
  };
  keptCredential().then((kept) => {
    dashboardCredential = kept;
    $('credential-note').hidden = !kept;
  });
}

async function start() {
  keyField();
  const spec = (await (await fetch('/openapi.json')).json()) as Spec;
  document.title = 'a2a-paygate · API reference ' + spec.info.version;
  $('title').textContent = 'a2a-paygate · API reference · ' + spec.info.version;
  $('intro').textContent =
    spec.info.description +
    ' Each route lists the errors it can give, by status, with the envelope’s code and the reasons; every error is this envelope:';
  $('envelope').textContent = outline(spec.components.responses.Error?.content?.['application/json']?.schema);
  const views = [];
  for (const [path, operations] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(operations)) views.push(operationView(path, method, operation, spec));
  }
  $('operations').replaceChildren(...views);
}
start();
