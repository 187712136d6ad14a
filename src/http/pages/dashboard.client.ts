/**
 * The billing dashboard's browser script: reads the REST API with the API key or wallet session the
 * visitor gives it (kept sealed for this tab, credential.client.ts) and draws the spend with uPlot, loaded beside the page.
 */

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
  reason: string | null;
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
const usdc = (micro: string) => (Number(micro) / 1e6).toFixed(Number(micro) % 10000 === 0 ? 2 : 6) + ' USDC';
let credential: string | null = null;

async function api<Answer>(path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(path, { ...init, headers: { ...(init.headers || {}), authorization: 'Bearer ' + credential } });
  const body = response.status === 204 ? {} : await response.json();
  if (!response.ok) throw Object.assign(new Error(body.error?.message || 'HTTP ' + response.status), { reason: body.error?.reason });
  return body;
}

function table(id: string, headers: [label: string, cls?: string][], rows: unknown[][]) {
  $(id).innerHTML =
    '<tr>' +
    headers.map(([label, cls]) => '<th class="' + (cls || '') + '">' + label + '</th>').join('') +
    '</tr>' +
    rows
      .map((row) => '<tr>' + row.map((cell, i) => '<td class="' + (headers[i]?.[1] || '') + '">' + text(cell) + '</td>').join('') + '</tr>')
      .join('');
}

function bars(id: string, labels: string[], values: number[]) {
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
      axes: [{ values: (_u, ticks) => ticks.map((t) => labels[t] ?? '') }, { values: (_u, ticks) => ticks.map((t) => t.toFixed(3)) }],
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
    [['When'], ['Kind'], ['Amount', 'num'], ['Task / reason']],
    ledgerRows.map((e) => [e.createdAt.replace('T', ' ').slice(0, 19), e.kind, usdc(e.amountMicroUsdc), e.taskId || e.reason || '']),
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
    [['When'], ['Tool'], ['State'], ['Cost', 'num']],
    taskRows.map((t) => [
      t.createdAt.replace('T', ' ').slice(0, 19),
      t.tool || '—',
      t.state,
      t.metadata.charged ? usdc(t.metadata.cost_micro_usdc) : '0',
    ]),
  );
  $('tasks-more').hidden = !taskCursor;
}

async function load() {
  $('signin').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = false;
  const [balance, session] = await Promise.all([
    api<Balance>('/v1/balance'),
    credential?.startsWith('apg_') ? null : api<{ address: string; role: string }>('/v1/auth/session'),
  ]);
  $('who').textContent = (session ? session.address + ' (' + session.role + ') · ' : 'API key · ') + 'organization ' + balance.orgId;
  $('balance').textContent = balance.availableDisplay + ' available';
  $('balance-detail').textContent = 'balance ' + balance.balanceDisplay + ' · reserved ' + balance.reservedDisplay;
  $('low-balance').textContent = balance.lowBalance?.below
    ? 'Below your low-balance threshold of ' + usdc(balance.lowBalance.thresholdMicroUsdc)
    : '';
  const [byDay, byTool, config, prices, indexed] = await Promise.all([
    api<{ usage: UsageRow[] }>('/v1/usage?by=day'),
    api<{ usage: UsageRow[] }>('/v1/usage?by=tool'),
    fetch('/v1/config').then((r) => r.json() as Promise<{ topUps: TopUpSettings | null }>),
    fetch('/v1/tools').then((r) => r.json() as Promise<{ tools: Price[] }>),
    fetch('/v1/indexer').then((r) => r.json() as Promise<{ indexer: Indexer | null }>),
  ]);
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
  );
  await Promise.all([loadLedger(false), loadTasks(false)]);
  $('topup').innerHTML = config.topUps
    ? '<p>Send USDC (<code>' +
      text(config.topUps.usdc) +
      '</code>) on chain ' +
      text(config.topUps.chainId) +
      ' from a member wallet to <code>' +
      text(config.topUps.treasury) +
      '</code>. It is credited after ' +
      text(config.topUps.confirmations) +
      ' confirmations, or at once when you submit the transaction hash.</p>'
    : '<p class="muted">Top-ups are not configured on this gateway.</p>';
  try {
    const topups = await api<{ topups: { createdAt: string; txHash: string; amountDisplay: string; status: string }[] }>('/v1/topups');
    table(
      'topups',
      [['When'], ['Tx'], ['Amount', 'num'], ['Status']],
      topups.topups.map((t) => [t.createdAt.slice(0, 19), t.txHash.slice(0, 12) + '…', t.amountDisplay, t.status]),
    );
  } catch {
    $('topups').innerHTML = '<tr><td class="muted">Sign in with a wallet to see submitted top-ups.</td></tr>';
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
    await load();
    await keepCredential(newCredential);
  } catch (error) {
    signOut();
    $('signin-error').textContent = (error as Error).message;
  }
}
function signOut() {
  forgetCredential();
  credential = null;
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
keptCredential().then((kept) => {
  if (kept) start(kept);
});
