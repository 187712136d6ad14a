/**
 * The billing dashboard: one HTML page with its script inline and uPlot (served beside it) for the
 * charts; it reads the REST API with the key or session the visitor gives it, kept in sessionStorage.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>a2a-paygate · billing</title>
<link rel="stylesheet" href="/dashboard/uplot.css">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { background: #1d2330; color: #fff; padding: 12px 24px; display: flex; gap: 16px; align-items: center; }
  header h1 { font-size: 18px; margin: 0; flex: 1; }
  main { padding: 16px 24px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); }
  section { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 2px #0001; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #eee; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  .big { font-size: 28px; font-weight: 600; }
  .warn { color: #b3261e; font-weight: 600; }
  #signin { max-width: 560px; margin: 48px auto; }
  input { width: 100%; padding: 6px; box-sizing: border-box; margin: 6px 0; }
  button { padding: 6px 12px; cursor: pointer; }
  .muted { color: #667; }
  code { background: #eef; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
</style>
</head>
<body>
<header><h1>a2a-paygate · billing</h1><a href="/reference" style="color:#cde">API reference</a><span id="who" class="muted"></span><button id="signout" hidden>Sign out</button></header>
<section id="signin">
  <h2>Sign in</h2>
  <p>Paste an API key of your organization, or sign in with your wallet.</p>
  <input id="apikey" placeholder="apg_…" autocomplete="off">
  <button id="use-key">Use API key</button>
  <button id="use-wallet">Sign in with wallet</button>
  <p id="signin-error" class="warn"></p>
</section>
<main id="app" hidden>
  <section><h2>Balance</h2><div id="balance" class="big"></div><div id="balance-detail" class="muted"></div><div id="low-balance" class="warn"></div></section>
  <section><h2>Spend per day</h2><div id="chart-day"></div></section>
  <section><h2>Spend by tool</h2><div id="chart-tool"></div><table id="usage"></table></section>
  <section><h2>Ledger</h2><table id="ledger"></table><button id="ledger-more" hidden>Older</button></section>
  <section><h2>Recent tasks</h2><table id="tasks"></table><button id="tasks-more" hidden>Older</button></section>
  <section><h2>Top up</h2><div id="topup"></div><table id="topups"></table></section>
  <section><h2>Prices</h2><table id="prices"></table><p id="freshness" class="muted"></p></section>
</main>
<script src="/dashboard/uplot.js"></script>
<script>
const $ = (id) => document.getElementById(id);
const text = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const usdc = (micro) => (Number(micro) / 1e6).toFixed(Number(micro) % 10000 === 0 ? 2 : 6) + ' USDC';
let credential = sessionStorage.getItem('paygate-credential');

async function api(path, init = {}) {
  const response = await fetch(path, { ...init, headers: { ...(init.headers || {}), authorization: 'Bearer ' + credential } });
  const body = response.status === 204 ? {} : await response.json();
  if (!response.ok) throw Object.assign(new Error(body.error?.message || 'HTTP ' + response.status), { reason: body.error?.reason });
  return body;
}

function table(id, headers, rows) {
  $(id).innerHTML = '<tr>' + headers.map(([label, cls]) => '<th class="' + (cls || '') + '">' + label + '</th>').join('') + '</tr>' +
    rows.map((row) => '<tr>' + row.map((cell, i) => '<td class="' + (headers[i][1] || '') + '">' + text(cell) + '</td>').join('') + '</tr>').join('');
}

function bars(id, labels, values) {
  $(id).innerHTML = '';
  if (!labels.length) { $(id).textContent = 'No paid calls yet.'; return; }
  new uPlot({
    width: Math.min(560, $(id).parentElement.clientWidth - 32), height: 180,
    scales: { x: { time: false } },
    legend: { show: false },
    padding: [8, 16, 0, 16],
    axes: [{ values: (u, ticks) => ticks.map((t) => labels[t] ?? '') }, { values: (u, ticks) => ticks.map((t) => t.toFixed(3)) }],
    series: [{}, { label: 'USDC', fill: '#4f6bed55', stroke: '#4f6bed', paths: uPlot.paths.bars({ size: [0.6, 60] }), points: { show: false } }],
  }, [labels.map((_, i) => i), values], $(id));
}

let ledgerRows = [], ledgerCursor = null, taskRows = [], taskCursor = null;

async function loadLedger(more) {
  const page = await api('/v1/ledger?limit=20' + (more && ledgerCursor ? '&cursor=' + ledgerCursor : ''));
  ledgerRows = more ? ledgerRows.concat(page.entries) : page.entries;
  ledgerCursor = page.nextCursor;
  table('ledger', [['When'], ['Kind'], ['Amount', 'num'], ['Task / reason']], ledgerRows.map((e) => [e.createdAt.replace('T', ' ').slice(0, 19), e.kind, usdc(e.amountMicroUsdc), e.taskId || e.reason || '']));
  $('ledger-more').hidden = !ledgerCursor;
}

async function loadTasks(more) {
  const page = await api('/v1/tasks?limit=20' + (more && taskCursor ? '&cursor=' + encodeURIComponent(taskCursor) : ''));
  taskRows = more ? taskRows.concat(page.tasks) : page.tasks;
  taskCursor = page.nextCursor;
  table('tasks', [['When'], ['Tool'], ['State'], ['Cost', 'num']], taskRows.map((t) => [t.createdAt.replace('T', ' ').slice(0, 19), t.tool || '—', t.state, t.metadata.charged ? usdc(t.metadata.cost_micro_usdc) : '0']));
  $('tasks-more').hidden = !taskCursor;
}

async function load() {
  $('signin').hidden = true; $('app').hidden = false; $('signout').hidden = false;
  const [balance, session] = await Promise.all([api('/v1/balance'), credential.startsWith('apg_') ? null : api('/v1/auth/session')]);
  $('who').textContent = (session ? session.address + ' (' + session.role + ') · ' : 'API key · ') + 'organization ' + balance.orgId;
  $('balance').textContent = balance.availableDisplay + ' available';
  $('balance-detail').textContent = 'balance ' + balance.balanceDisplay + ' · reserved ' + balance.reservedDisplay;
  $('low-balance').textContent = balance.lowBalance?.below ? 'Below your low-balance threshold of ' + usdc(balance.lowBalance.thresholdMicroUsdc) : '';
  const [byDay, byTool, config, prices, indexed] = await Promise.all([api('/v1/usage?by=day'), api('/v1/usage?by=tool'), fetch('/v1/config').then((r) => r.json()), fetch('/v1/tools').then((r) => r.json()), fetch('/v1/indexer').then((r) => r.json())]);
  const ix = indexed.indexer;
  $('freshness').textContent = ix
    ? 'ERC-8004 data from chain ' + ix.chainId + ': block ' + ix.indexedBlock + (ix.headBlock === null ? '' : ' of ' + ix.headBlock + ' (' + ix.lagBlocks + ' behind, checked ' + (ix.checkedAt || '').slice(11, 19) + ' UTC)')
    : 'ERC-8004 data: demo data, or the indexer has not run yet.';
  bars('chart-day', byDay.usage.map((r) => r.key.slice(5)), byDay.usage.map((r) => Number(r.spentMicroUsdc) / 1e6));
  bars('chart-tool', byTool.usage.map((r) => r.key), byTool.usage.map((r) => Number(r.spentMicroUsdc) / 1e6));
  table('usage', [['Tool'], ['Calls', 'num'], ['OK', 'num'], ['Failed', 'num'], ['Spent', 'num'], ['p50 ms', 'num']], byTool.usage.map((r) => [r.key, r.calls, r.succeeded, r.failed, r.spentDisplay, r.p50Ms ?? '']));
  await Promise.all([loadLedger(false), loadTasks(false)]);
  $('topup').innerHTML = config.topUps
    ? '<p>Send USDC (<code>' + text(config.topUps.usdc) + '</code>) on chain ' + text(config.topUps.chainId) + ' from a member wallet to <code>' + text(config.topUps.treasury) + '</code>. It is credited after ' + text(config.topUps.confirmations) + ' confirmations, or at once when you submit the transaction hash.</p>'
    : '<p class="muted">Top-ups are not configured on this gateway.</p>';
  try {
    const topups = await api('/v1/topups');
    table('topups', [['When'], ['Tx'], ['Amount', 'num'], ['Status']], topups.topups.map((t) => [t.createdAt.slice(0, 19), t.txHash.slice(0, 12) + '…', t.amountDisplay, t.status]));
  } catch (error) {
    $('topups').innerHTML = '<tr><td class="muted">Sign in with a wallet to see submitted top-ups.</td></tr>';
  }
  table('prices', [['Tool'], ['Tier'], ['Price', 'num'], ['Status']], prices.tools.map((t) => [t.name, t.tier + ' ' + t.tier_name, t.cost_display, t.enabled ? 'enabled' : 'disabled']));
}

async function signInWithWallet() {
  if (!window.ethereum) throw new Error('no wallet found in this browser');
  const [address] = await window.ethereum.request({ method: 'eth_requestAccounts' });
  const { nonce, domain, chainId } = await (await fetch('/v1/auth/nonce', { method: 'POST' })).json();
  const message = domain + ' wants you to sign in with your Ethereum account:\\n' + address + '\\n\\nSign in to the a2a-paygate billing dashboard\\n\\nURI: ' + location.origin + '\\nVersion: 1\\nChain ID: ' + chainId + '\\nNonce: ' + nonce + '\\nIssued At: ' + new Date().toISOString();
  const hex = '0x' + Array.from(new TextEncoder().encode(message), (b) => b.toString(16).padStart(2, '0')).join('');
  const signature = await window.ethereum.request({ method: 'personal_sign', params: [hex, address] });
  const response = await fetch('/v1/auth/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message, signature }) });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error?.message || 'sign-in refused');
  return body.token;
}

async function start(newCredential) {
  credential = newCredential;
  sessionStorage.setItem('paygate-credential', credential);
  try { await load(); } catch (error) { signOut(); $('signin-error').textContent = error.message; }
}
function signOut() { sessionStorage.removeItem('paygate-credential'); credential = null; $('app').hidden = true; $('signin').hidden = false; $('signout').hidden = true; $('who').textContent = ''; }

$('use-key').onclick = () => start($('apikey').value.trim());
$('use-wallet').onclick = () => signInWithWallet().then(start, (error) => { $('signin-error').textContent = error.message; });
$('signout').onclick = signOut;
$('ledger-more').onclick = () => loadLedger(true);
$('tasks-more').onclick = () => loadTasks(true);
if (credential) start(credential);
</script>
</body>
</html>
`;
