/**
 * The billing dashboard's browser script: reads the REST API with the API key or wallet session the
 * visitor gives it (kept sealed for this tab, credential.client.ts) and draws the spend with uPlot,
 * loaded beside the page. It asks only what the credential may read: an API key reads the billing
 * routes, a wallet session also the keys, top-ups, members and the low-balance alert, and its role decides which controls it is shown
 * (admins manage keys, owners rename the organization), so no request it makes is one the API
 * refuses for its credential.
 */
import { displayUsdc } from '../../tools/money.js';

import { forgetCredential, keepCredential, keptCredential } from './credential.client.js';

declare const uPlot: typeof import('uplot');

declare global {
  interface Window {
    /** an injected EIP-1193 wallet (MetaMask and the like) */
    ethereum?: { request(call: { method: string; params?: unknown[] }): Promise<unknown> };
  }
}

/** The parts of the REST answers the page shows (the routes' schemas in src/http/ are the whole of them). */
interface LedgerEntry {
  createdAt: string;
  kind: string;
  amountMicroUsdc: string;
  taskId: string | null;
  tool: string | null;
  reason: string | null;
}
interface SpendCap {
  amountMicroUsdc: string;
  period: 'day' | 'month';
}
interface RateLimit {
  requests: number;
  windowSeconds: number;
}
interface KeyPolicy {
  tools: string[] | null;
  maxTier: number | null;
  spendCap: SpendCap | null;
  rateLimit: RateLimit | null;
}
interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  policy: KeyPolicy;
  spend: { dayMicroUsdc: string; monthMicroUsdc: string; reservedMicroUsdc: string };
}
interface Session {
  address: string;
  orgId: string;
  role: 'owner' | 'admin' | 'viewer';
}
interface Member {
  address: string;
  role: 'owner' | 'admin' | 'viewer';
  addedBy: string | null;
  createdAt: string;
}
interface LowBalanceAlert {
  thresholdMicroUsdc: string;
  webhookUrl: string | null;
  below: boolean;
  crossedAt: string | null;
  lastError: string | null;
  webhookSecret?: string;
}
interface Task {
  createdAt: string;
  tool: string | null;
  state: string;
  metadata: { charged: boolean; cost_micro_usdc: string };
}
interface UsageRow {
  key: string;
  calls: number;
  succeeded: number;
  failed: number;
  spentMicroUsdc: string;
  spentDisplay: string;
  p50Ms: number | null;
}
interface Balance {
  orgId: string;
  availableDisplay: string;
  balanceDisplay: string;
  reservedDisplay: string;
  lowBalance: { thresholdMicroUsdc: string; below: boolean } | null;
}
interface Indexer {
  chainId: number;
  indexedBlock: string;
  headBlock: string | null;
  lagBlocks: number | null;
  checkedAt: string | null;
}
interface TopUpSettings {
  chainId: number;
  usdc: string;
  treasury: string;
  confirmations: number;
}
interface Price {
  name: string;
  tier: number;
  tier_name: string;
  cost_display: string;
  enabled: boolean;
}

const $ = (id: string) => document.getElementById(id) as HTMLInputElement;
const text = (value: unknown) =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
/** Every amount on the page, as the API's *Display fields write it: "0.001 USDC", "2.00 USDC". */
const usdc = (micro: string) => displayUsdc(BigInt(micro));
/** An instant on one line, to the minute, in UTC: "2026-12-04 16:55 UTC". */
const when = (iso: string) => new Date(iso).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
let credential: string | null = null;
/** the wallet session's member, or null when signed in with an API key */
let session: Session | null = null;
let toolNames: string[] = [];

async function api<Answer>(path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(path, { ...init, headers: { ...(init.headers || {}), authorization: 'Bearer ' + credential } });
  const body = response.status === 204 ? {} : await response.json();
  if (!response.ok) throw Object.assign(new Error(body.error?.message || 'HTTP ' + response.status), { reason: body.error?.reason });
  return body;
}
const sendJson = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

type Column = [label: string, cls?: string];

/** A table of `rows` under `headers`; without rows, the one line `empty` instead of a table of headers alone. */
function table(id: string, headers: Column[], rows: unknown[][], empty = 'Nothing yet.') {
  if (!rows.length) {
    $(id).innerHTML = '<tr><td class="muted">' + text(empty) + '</td></tr>';
    return;
  }
  $(id).innerHTML =
    '<tr>' +
    headers.map(([label, cls]) => '<th scope="col" class="' + (cls || '') + '">' + label + '</th>').join('') +
    '</tr>' +
    rows
      .map(
        (row) =>
          '<tr>' +
          row
            .map(
              (cell, i) =>
                '<td class="' + (headers[i]?.[1] || '') + '" data-label="' + (headers[i]?.[0] || '') + '">' + text(cell) + '</td>',
            )
            .join('') +
          '</tr>',
      )
      .join('');
}

/** the charts drawn, by element id: drawn again at the new width when the window is resized (a phone turned) */
const charts = new Map<string, [labels: string[], values: number[]]>();
let redraw: ReturnType<typeof setTimeout> | undefined;
addEventListener('resize', () => {
  clearTimeout(redraw);
  redraw = setTimeout(() => {
    for (const [id, [labels, values]] of charts) bars(id, labels, values);
  }, 100);
});

function bars(id: string, labels: string[], values: number[]) {
  charts.set(id, [labels, values]);
  $(id).innerHTML = '';
  if (!labels.length) {
    $(id).textContent = 'No paid calls yet.';
    return;
  }
  new uPlot(
    {
      width: Math.min(560, ($(id).parentElement as HTMLElement).clientWidth - 32),
      height: 180,
      scales: { x: { time: false } },
      legend: { show: false },
      padding: [8, 16, 0, 16],
      axes: [
        { values: (_u, ticks) => ticks.map((t) => labels[t] ?? '') },
        { label: 'USDC', size: 56, values: (_u, ticks) => ticks.map((t) => String(Number(t.toFixed(6)))) },
      ],
      series: [
        {},
        { label: 'USDC', fill: '#4f6bed55', stroke: '#4f6bed', paths: uPlot.paths.bars?.({ size: [0.6, 60] }), points: { show: false } },
      ],
    },
    [labels.map((_, i) => i), values],
    $(id),
  );
}

let ledgerRows: LedgerEntry[] = [],
  ledgerCursor: string | null = null,
  taskRows: Task[] = [],
  taskCursor: string | null = null;

async function loadLedger(more: boolean) {
  const page = await api<{ entries: LedgerEntry[]; nextCursor: string | null }>(
    '/v1/ledger?limit=20' + (more && ledgerCursor ? '&cursor=' + ledgerCursor : ''),
  );
  ledgerRows = more ? ledgerRows.concat(page.entries) : page.entries;
  ledgerCursor = page.nextCursor;
  table(
    'ledger',
    [['When', 'when'], ['Kind'], ['Tool'], ['Amount', 'num'], ['Task / reason']],
    // A task by its first 8 characters (the ledger CSV has the whole id): a UUID would make every row two lines on a phone.
    ledgerRows.map((e) => [
      when(e.createdAt),
      e.kind,
      e.tool || '—',
      usdc(e.amountMicroUsdc),
      e.taskId ? e.taskId.slice(0, 8) + '…' : e.reason || '',
    ]),
    'No ledger entries yet.',
  );
  $('ledger-more').hidden = !ledgerCursor;
}

async function loadTasks(more: boolean) {
  const page = await api<{ tasks: Task[]; nextCursor: string | null }>(
    '/v1/tasks?limit=20' + (more && taskCursor ? '&cursor=' + encodeURIComponent(taskCursor) : ''),
  );
  taskRows = more ? taskRows.concat(page.tasks) : page.tasks;
  taskCursor = page.nextCursor;
  table(
    'tasks',
    [['When', 'when'], ['Tool'], ['State'], ['Cost', 'num']],
    taskRows.map((t) => [when(t.createdAt), t.tool || '—', t.state, usdc(t.metadata.charged ? t.metadata.cost_micro_usdc : '0')]),
    'No tasks yet.',
  );
  $('tasks-more').hidden = !taskCursor;
}

const canManageKeys = () => session?.role === 'owner' || session?.role === 'admin';

function policyText(policy: KeyPolicy): string {
  return [
    policy.tools ? 'tools: ' + policy.tools.join(', ') : 'every tool',
    policy.maxTier === null ? '' : 'tier ≤ ' + policy.maxTier,
    policy.spendCap ? 'cap ' + usdc(policy.spendCap.amountMicroUsdc) + ' per ' + policy.spendCap.period : '',
    policy.rateLimit ? policy.rateLimit.requests + ' calls per ' + policy.rateLimit.windowSeconds + ' s' : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

function keyStatus(key: ApiKey): string {
  if (key.revokedAt) return 'revoked ' + when(key.revokedAt);
  if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) return 'expired';
  return 'active';
}

let keyRows: ApiKey[] = [];

async function loadKeys() {
  keyRows = (await api<{ keys: ApiKey[] }>('/v1/keys')).keys;
  const manage = canManageKeys();
  const headers: Column[] = [
    ['Name'],
    ['Prefix'],
    ['Policy'],
    ['Spent today', 'num'],
    ['Spent this month', 'num'],
    ['Expires', 'when'],
    ['Status'],
  ];
  if (manage) headers.push(['Actions', 'actions']);
  table(
    'keys',
    headers,
    keyRows.map((key) => [
      key.name,
      key.prefix + '…',
      policyText(key.policy),
      usdc(key.spend.dayMicroUsdc),
      usdc(key.spend.monthMicroUsdc),
      key.expiresAt ? when(key.expiresAt) : 'never',
      keyStatus(key),
    ]),
    'No API keys yet.',
  );
  if (!manage || !keyRows.length) return;
  // The controls are buttons in the last cell of each live key's row, named for screen readers by the key.
  const rows = $('keys').querySelectorAll('tr');
  keyRows.forEach((key, i) => {
    const cell = (rows[i + 1] as HTMLTableRowElement).insertCell();
    cell.className = 'actions';
    cell.dataset.label = 'Actions';
    if (key.revokedAt) return;
    for (const [action, label] of [
      ['edit', 'Edit policy'],
      ['revoke', 'Revoke'],
    ] as const) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = label;
      button.dataset[action] = key.id;
      button.setAttribute('aria-label', label + ' of key ' + key.name);
      button.onclick = () => (action === 'edit' ? openKeyForm(key) : revokeKey(key));
      cell.append(button, ' ');
    }
  });
}

/** The key whose policy the form edits; null: the form creates a key. */
let editing: ApiKey | null = null;

/** The key shown once leaves the page at the next key action: it is not kept in view (or in memory) longer than needed. */
function forgetShownKey() {
  $('new-key').hidden = true;
  $('new-key-value').textContent = '';
  $('copy-done').textContent = '';
}

function openKeyForm(key: ApiKey | null) {
  forgetShownKey();
  editing = key;
  const form = $('key-form') as unknown as HTMLFormElement;
  form.reset();
  $('key-error').textContent = '';
  $('key-form-title').textContent = key ? 'Policy of key ' + key.name + ' (' + key.prefix + '…)' : 'New key';
  $('key-submit').textContent = key ? 'Save policy' : 'Create key';
  $('key-name').disabled = Boolean(key);
  $('key-expires-field').hidden = Boolean(key);
  $('key-tools').innerHTML = toolNames
    .map(
      (name) =>
        '<label><input type="checkbox" name="tool" value="' +
        text(name) +
        '"' +
        (key?.policy.tools?.includes(name) ? ' checked' : '') +
        '> ' +
        text(name) +
        '</label>',
    )
    .join('');
  if (key) {
    $('key-name').value = key.name;
    $('key-tier').value = key.policy.maxTier === null ? '' : String(key.policy.maxTier);
    $('key-cap').value = key.policy.spendCap ? usdc(key.policy.spendCap.amountMicroUsdc).replace(' USDC', '') : '';
    $('key-cap-period').value = key.policy.spendCap?.period ?? 'day';
    $('key-rate').value = key.policy.rateLimit ? String(key.policy.rateLimit.requests) : '';
    $('key-rate-window').value = String(key.policy.rateLimit?.windowSeconds ?? 60);
  }
  form.hidden = false;
  $('key-new').hidden = true;
  (key ? $('key-tier') : $('key-name')).focus();
}

function closeKeyForm() {
  ($('key-form') as unknown as HTMLFormElement).hidden = true;
  $('key-new').hidden = !canManageKeys();
  editing = null;
}

/** "1.5" USDC as micro-USDC, exactly (no float): at most 6 decimals. */
function microOf(amount: string, what = 'spend cap'): string {
  const match = /^(\d{1,13})(?:\.(\d{1,6}))?$/.exec(amount.trim());
  if (!match) throw new Error('the ' + what + ' must be an amount of USDC with at most 6 decimals, e.g. 5 or 0.25');
  return (BigInt(match[1] as string) * 1_000_000n + BigInt((match[2] ?? '').padEnd(6, '0'))).toString();
}

/** The form's policy: every field, null where it sets no bound (so an edit can remove one). */
function formPolicy(): KeyPolicy {
  const tools = Array.from($('key-tools').querySelectorAll<HTMLInputElement>('input:checked'), (box) => box.value);
  const tier = $('key-tier').value;
  const cap = $('key-cap').value.trim();
  const rate = $('key-rate').value.trim();
  return {
    tools: tools.length ? tools : null,
    maxTier: tier === '' ? null : Number(tier),
    spendCap: cap === '' ? null : { amountMicroUsdc: microOf(cap), period: $('key-cap-period').value as 'day' | 'month' },
    rateLimit: rate === '' ? null : { requests: Number(rate), windowSeconds: Number($('key-rate-window').value || 60) },
  };
}

async function submitKeyForm() {
  $('key-error').textContent = '';
  try {
    const policy = formPolicy();
    if (editing) {
      await api('/v1/keys/' + editing.id, sendJson('PATCH', policy));
    } else {
      const expires = $('key-expires').value;
      const created = await api<{ key: string }>(
        '/v1/keys',
        sendJson('POST', {
          name: $('key-name').value,
          ...(expires ? { expiresAt: new Date(expires + 'T23:59:59Z').toISOString() } : {}),
          ...policy,
        }),
      );
      $('new-key-value').textContent = created.key;
      $('copy-done').textContent = '';
      $('new-key').hidden = false;
    }
    closeKeyForm();
    await loadKeys();
    ($('new-key').hidden ? $('key-new') : $('copy-key')).focus();
  } catch (error) {
    $('key-error').textContent = (error as Error).message;
  }
}

async function revokeKey(key: ApiKey) {
  forgetShownKey();
  if (!confirm('Revoke the key ' + key.name + ' (' + key.prefix + '…)? Calls with it are refused from now on; this cannot be undone.'))
    return;
  try {
    await api('/v1/keys/' + key.id, { method: 'DELETE' });
  } catch (error) {
    $('key-error').textContent = (error as Error).message;
  }
  await loadKeys();
  // The pressed button is gone with the row it was in: the focus goes on to the section's own button.
  $('key-new').focus();
}

/** Copies the text of `valueId` (a key, a secret shown once), saying so in `doneId`. */
async function copyShown(valueId: string, doneId: string, what: string) {
  const value = $(valueId).textContent || '';
  try {
    await navigator.clipboard.writeText(value);
    $(doneId).textContent = 'Copied.';
  } catch {
    // No clipboard (an insecure origin): select the value so Ctrl+C copies it.
    getSelection()?.selectAllChildren($(valueId));
    $(doneId).textContent = 'Press Ctrl+C to copy the selected ' + what + '.';
  }
}

/** A wallet address cut to its ends, "0x1234…abcd" (whole in its cell's title). */
const short = (address: string) => address.slice(0, 6) + '…' + address.slice(-4);
const mine = (address: string) => address.toLowerCase() === session?.address.toLowerCase();

let memberRows: Member[] = [];

async function loadMembers() {
  const members = (await api<{ members: Member[] }>('/v1/members')).members;
  memberRows = members;
  const owner = session?.role === 'owner';
  // An Actions column only where there is one to take: an owner alone in the list cannot remove itself.
  const removable = owner && members.some((m) => !mine(m.address));
  const headers: Column[] = [['Wallet'], ['Role'], ['Added by'], ['Since', 'when']];
  if (removable) headers.push(['Actions', 'actions']);
  table(
    'members',
    headers,
    members.map((m) => [
      short(m.address) + (mine(m.address) ? ' (you)' : ''),
      m.role,
      m.addedBy ? short(m.addedBy) : '—',
      when(m.createdAt),
    ]),
    'No members.',
  );
  const rows = $('members').querySelectorAll('tr');
  members.forEach((m, i) => {
    const row = rows[i + 1] as HTMLTableRowElement | undefined;
    if (!row) return;
    // The wallet whole (it is what an owner checks before removing it), breaking anywhere on a phone.
    const wallet = document.createElement('code');
    wallet.textContent = m.address;
    (row.cells[0] as HTMLTableCellElement).replaceChildren(wallet, mine(m.address) ? ' (you)' : '');
    if (m.addedBy) (row.cells[2] as HTMLTableCellElement).title = m.addedBy;
    if (!removable) return;
    const cell = row.insertCell();
    cell.className = 'actions';
    cell.dataset.label = 'Actions';
    // Never one's own wallet: a session cannot take itself out from under the page.
    if (mine(m.address)) return;
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Remove';
    button.setAttribute('aria-label', 'Remove member ' + m.address);
    button.onclick = () => removeMember(m);
    cell.append(button);
  });
  $('member-form').hidden = !owner;
}

async function addMember() {
  $('member-error').textContent = '';
  const address = $('member-address').value.trim();
  // One already in the list is said at once, not asked of the API to be refused.
  const known = memberRows.find((m) => m.address.toLowerCase() === address.toLowerCase());
  if (known) {
    $('member-error').textContent = 'the wallet is already a member of this organization (' + known.role + ')';
    return;
  }
  try {
    await api('/v1/members', sendJson('POST', { address, role: $('member-role').value }));
    ($('member-form') as unknown as HTMLFormElement).reset();
    await loadMembers();
    $('member-address').focus();
  } catch (error) {
    $('member-error').textContent = (error as Error).message;
  }
}

async function removeMember(member: Member) {
  $('member-error').textContent = '';
  if (!confirm('Remove ' + member.address + ' (' + member.role + ') from the organization? Its sessions end at once.')) return;
  try {
    await api('/v1/members/' + member.address, { method: 'DELETE' });
  } catch (error) {
    $('member-error').textContent = (error as Error).message;
  }
  await loadMembers();
  // The pressed button is gone with its row: the focus goes on to the form's first field.
  $('member-address').focus();
}

function showAlert(alert: LowBalanceAlert | null) {
  const manage = canManageKeys();
  $('alert-state').textContent = alert
    ? 'Alert when the available credit falls under ' +
      usdc(alert.thresholdMicroUsdc) +
      (alert.webhookUrl ? ', posted to ' + alert.webhookUrl : ', shown on this page (no webhook)') +
      '.' +
      // The signal's own state (set when a sweep sees the crossing); the balance above says the live one.
      (alert.below && alert.crossedAt ? ' Signalled below it since ' + when(alert.crossedAt) + '.' : '') +
      (alert.lastError ? ' Last webhook delivery failed: ' + alert.lastError : '')
    : 'No low-balance alert is set.';
  $('alert-form').hidden = !manage;
  $('alert-remove').hidden = !manage || !alert;
  if (manage && alert) {
    $('alert-threshold').value = usdc(alert.thresholdMicroUsdc).replace(' USDC', '');
    $('alert-webhook').value = alert.webhookUrl ?? '';
  }
}

function forgetShownSecret() {
  $('alert-secret').hidden = true;
  $('alert-secret-value').textContent = '';
  $('copy-secret-done').textContent = '';
}

async function saveAlert() {
  $('alert-error').textContent = '';
  forgetShownSecret();
  try {
    const webhook = $('alert-webhook').value.trim();
    const saved = await api<LowBalanceAlert>(
      '/v1/alerts/low-balance',
      sendJson('PUT', { thresholdMicroUsdc: microOf($('alert-threshold').value, 'threshold'), webhookUrl: webhook || null }),
    );
    showAlert(saved);
    showBalance(await api<Balance>('/v1/balance'));
    if (saved.webhookSecret) {
      $('alert-secret-value').textContent = saved.webhookSecret;
      $('alert-secret').hidden = false;
      $('copy-secret').focus();
    } else {
      $('alert-submit').focus();
    }
  } catch (error) {
    $('alert-error').textContent = (error as Error).message;
  }
}

async function removeAlert() {
  $('alert-error').textContent = '';
  forgetShownSecret();
  if (!confirm('Remove the low-balance alert? No webhook is posted and no warning shown from now on.')) return;
  try {
    await api('/v1/alerts/low-balance', { method: 'DELETE' });
    ($('alert-form') as unknown as HTMLFormElement).reset();
    showAlert(null);
    showBalance(await api<Balance>('/v1/balance'));
  } catch (error) {
    $('alert-error').textContent = (error as Error).message;
  }
  $('alert-threshold').focus();
}

async function loadAlert(set: boolean) {
  // Only asked when the balance says one is set: without one the route answers 404.
  showAlert(set ? await api<LowBalanceAlert>('/v1/alerts/low-balance') : null);
}

function showOrganization(name: string) {
  $('org-name').textContent = name;
  document.title = name + ' · a2a-paygate billing';
  $('rename').hidden = session?.role !== 'owner';
}

async function rename() {
  $('rename-error').textContent = '';
  try {
    const renamed = await api<{ name: string }>('/v1/organization', sendJson('PATCH', { name: $('rename-input').value }));
    $('rename-form').hidden = true;
    showOrganization(renamed.name);
    $('rename').focus();
  } catch (error) {
    $('rename-error').textContent = (error as Error).message;
  }
}

function showBalance(balance: Balance) {
  $('balance').textContent = balance.availableDisplay + ' available';
  $('balance-detail').textContent = 'balance ' + balance.balanceDisplay + ' · reserved ' + balance.reservedDisplay;
  $('low-balance').textContent = balance.lowBalance?.below
    ? 'Below your low-balance threshold of ' + usdc(balance.lowBalance.thresholdMicroUsdc)
    : '';
}

async function load() {
  $('signin').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = false;
  const [balance, organization, who] = await Promise.all([
    api<Balance>('/v1/balance'),
    api<{ name: string }>('/v1/organization'),
    // An API key is no session: the session-only routes (keys, top-ups, who am I) are never asked with one.
    credential?.startsWith('apg_') ? null : api<Session>('/v1/auth/session'),
  ]);
  session = who;
  showOrganization(organization.name);
  $('who').textContent = session ? session.address + ' (' + session.role + ')' : 'signed in with an API key';
  showBalance(balance);
  const [byDay, byTool, config, prices, indexed] = await Promise.all([
    api<{ usage: UsageRow[] }>('/v1/usage?by=day'),
    api<{ usage: UsageRow[] }>('/v1/usage?by=tool'),
    fetch('/v1/config').then((r) => r.json() as Promise<{ topUps: TopUpSettings | null }>),
    fetch('/v1/tools').then((r) => r.json() as Promise<{ tools: Price[] }>),
    fetch('/v1/indexer').then((r) => r.json() as Promise<{ indexer: Indexer | null }>),
  ]);
  toolNames = prices.tools.filter((t) => t.enabled).map((t) => t.name);
  const ix = indexed.indexer;
  $('freshness').textContent = ix
    ? 'ERC-8004 data from chain ' +
      ix.chainId +
      ': block ' +
      ix.indexedBlock +
      (ix.headBlock === null
        ? ''
        : ' of ' + ix.headBlock + ' (' + ix.lagBlocks + ' behind, checked ' + (ix.checkedAt || '').slice(11, 19) + ' UTC)')
    : 'ERC-8004 data: demo data, or the indexer has not run yet.';
  bars(
    'chart-day',
    byDay.usage.map((r) => r.key.slice(5)),
    byDay.usage.map((r) => Number(r.spentMicroUsdc) / 1e6),
  );
  bars(
    'chart-tool',
    byTool.usage.map((r) => r.key),
    byTool.usage.map((r) => Number(r.spentMicroUsdc) / 1e6),
  );
  table(
    'usage',
    [['Tool'], ['Calls', 'num'], ['OK', 'num'], ['Failed', 'num'], ['Spent', 'num'], ['p50 ms', 'num']],
    byTool.usage.map((r) => [r.key, r.calls, r.succeeded, r.failed, r.spentDisplay, r.p50Ms ?? '']),
    '',
  );
  $('usage').hidden = !byTool.usage.length;
  $('keys-section').hidden = !session;
  $('members-section').hidden = !session;
  $('alert-section').hidden = !session;
  $('key-new').hidden = !canManageKeys();
  await Promise.all([
    loadLedger(false),
    loadTasks(false),
    session ? loadKeys() : null,
    session ? loadMembers() : null,
    session ? loadAlert(balance.lowBalance !== null) : null,
  ]);
  $('topup').innerHTML =
    (config.topUps
      ? '<p>Send USDC (<code>' +
        text(config.topUps.usdc) +
        '</code>) on chain ' +
        text(config.topUps.chainId) +
        ' from a member wallet to <code>' +
        text(config.topUps.treasury) +
        '</code>. It is credited after ' +
        text(config.topUps.confirmations) +
        ' confirmations, or at once when you submit the transaction hash.</p>'
      : '<p class="muted">Top-ups are not configured on this gateway.</p>') +
    (session ? '' : '<p class="muted">Sign in with a member wallet to see the top-ups recorded.</p>');
  $('topups').hidden = !session;
  if (session) {
    const topups = await api<{ topups: { createdAt: string; txHash: string; amountDisplay: string; status: string }[] }>('/v1/topups');
    table(
      'topups',
      [['When', 'when'], ['Tx'], ['Amount', 'num'], ['Status']],
      topups.topups.map((t) => [when(t.createdAt), t.txHash.slice(0, 12) + '…', t.amountDisplay, t.status]),
      'No top-ups recorded yet.',
    );
  }
  table(
    'prices',
    [['Tool'], ['Tier'], ['Price', 'num'], ['Status']],
    prices.tools.map((t) => [t.name, t.tier + ' ' + t.tier_name, t.cost_display, t.enabled ? 'enabled' : 'disabled']),
  );
}

async function signInWithWallet(): Promise<string> {
  if (!window.ethereum) throw new Error('no wallet found in this browser');
  const [address] = (await window.ethereum.request({ method: 'eth_requestAccounts' })) as string[];
  const { nonce, domain, chainId } = (await (await fetch('/v1/auth/nonce', { method: 'POST' })).json()) as {
    nonce: string;
    domain: string;
    chainId: number;
  };
  const message =
    domain +
    ' wants you to sign in with your Ethereum account:\n' +
    address +
    '\n\nSign in to the a2a-paygate billing dashboard\n\nURI: ' +
    location.origin +
    '\nVersion: 1\nChain ID: ' +
    chainId +
    '\nNonce: ' +
    nonce +
    '\nIssued At: ' +
    new Date().toISOString();
  const hex = '0x' + Array.from(new TextEncoder().encode(message), (b) => b.toString(16).padStart(2, '0')).join('');
  const signature = await window.ethereum.request({ method: 'personal_sign', params: [hex, address] });
  const response = await fetch('/v1/auth/verify', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message, signature }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error?.message || 'sign-in refused');
  return body.token;
}

async function start(newCredential: string) {
  credential = newCredential;
  try {
    // kept before the page shows it is signed in, so a reload right after finds it (a failed load forgets it)
    await keepCredential(newCredential);
    await load();
  } catch (error) {
    signOut();
    $('signin-error').textContent = (error as Error).message;
  }
}
function signOut() {
  forgetCredential();
  credential = null;
  session = null;
  closeKeyForm();
  forgetShownKey();
  forgetShownSecret();
  $('members-section').hidden = true;
  $('alert-section').hidden = true;
  $('member-error').textContent = '';
  $('alert-error').textContent = '';
  $('rename').hidden = true;
  $('rename-form').hidden = true;
  $('org-name').textContent = 'Billing dashboard';
  $('app').hidden = true;
  $('signin').hidden = false;
  $('signout').hidden = true;
  $('who').textContent = '';
}

$('use-key').onclick = () => start($('apikey').value.trim());
$('use-wallet').onclick = () =>
  signInWithWallet().then(start, (error: Error) => {
    $('signin-error').textContent = error.message;
  });
$('signout').onclick = signOut;
$('ledger-more').onclick = () => loadLedger(true);
$('tasks-more').onclick = () => loadTasks(true);
$('key-new').onclick = () => openKeyForm(null);
$('key-cancel').onclick = closeKeyForm;
$('key-form').onsubmit = (event) => {
  event.preventDefault();
  submitKeyForm();
};
$('copy-key').onclick = () => copyShown('new-key-value', 'copy-done', 'key');
$('copy-secret').onclick = () => copyShown('alert-secret-value', 'copy-secret-done', 'secret');
$('member-form').onsubmit = (event) => {
  event.preventDefault();
  addMember();
};
$('alert-form').onsubmit = (event) => {
  event.preventDefault();
  saveAlert();
};
$('alert-remove').onclick = removeAlert;
// An error said about the last attempt goes once the visitor changes what they typed.
$('member-address').oninput = () => {
  $('member-error').textContent = '';
};
$('rename').onclick = () => {
  $('rename-input').value = $('org-name').textContent || '';
  $('rename-error').textContent = '';
  $('rename-form').hidden = false;
  $('rename-input').focus();
};
$('rename-cancel').onclick = () => {
  $('rename-form').hidden = true;
  $('rename').focus();
};
$('rename-form').onsubmit = (event) => {
  event.preventDefault();
  rename();
};
keptCredential().then((kept) => {
  if (kept) start(kept);
});
