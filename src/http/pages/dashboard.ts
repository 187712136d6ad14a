import { AUDIT_ACTIONS } from '../../audit/record.js';
import { clientScript } from './client-script.js';

const SCRIPT = clientScript('dashboard');

/**
 * The billing dashboard: one HTML page with its script (dashboard.client.ts) inline and uPlot (served
 * beside it) for the charts; it reads the REST API with the key or session the visitor gives it, kept
 * sealed for this tab (credential.client.ts), and shows only what that credential may read (the keys,
 * top-ups, members and low-balance alert need a wallet session; the controls to change them, its role).
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>a2a-paygate · billing</title>
<link rel="stylesheet" href="/dashboard/uplot.css">
<style>
  [hidden] { display: none !important; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { background: #1d2330; color: #fff; padding: 10px 24px; display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; }
  header .brand { color: #cdd3e0; font-size: 13px; }
  header h1 { font-size: 18px; margin: 0; flex: 1 1 auto; min-width: 0; overflow-wrap: anywhere; }
  header a { color: #cde; }
  header #who { color: #cdd3e0; font-size: 13px; overflow-wrap: anywhere; }
  header form { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; flex: 1 1 260px; }
  header form input { width: auto; flex: 1 1 160px; margin: 0; }
  main { padding: 16px 24px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(min(420px, 100%), 1fr)); }
  section { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 2px #0001; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  h3 { font-size: 14px; margin: 12px 0 4px; }
  .scroll { overflow-x: auto; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #eee; vertical-align: top; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  td.when { white-space: nowrap; font-variant-numeric: tabular-nums; }
  td.actions { white-space: nowrap; }
  .big { font-size: 28px; font-weight: 600; }
  .warn { color: #b3261e; font-weight: 600; }
  #signin { max-width: 560px; margin: 48px auto; }
  #signin input { width: 100%; }
  input, select { padding: 6px; box-sizing: border-box; margin: 4px 0; font: inherit; }
  button { padding: 6px 12px; cursor: pointer; font: inherit; }
  /* Every control's keyboard focus drawn the same, whichever section adds it. */
  :focus-visible { outline: 3px solid #4f6bed; outline-offset: 1px; }
  .muted { color: #5a6070; }
  code { background: #eef; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
  .key-form { display: grid; gap: 4px 16px; grid-template-columns: repeat(auto-fit, minmax(min(220px, 100%), 1fr)); align-items: end; }
  .key-form label { display: flex; flex-direction: column; font-size: 13px; }
  .key-form fieldset { grid-column: 1 / -1; border: 1px solid #dde; border-radius: 6px; margin: 4px 0; }
  .key-form fieldset label { display: inline-flex; flex-direction: row; align-items: center; gap: 4px; margin: 2px 12px 2px 0; }
  .key-form .row { grid-column: 1 / -1; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
  /* On a phone each row of a table is a card of "label value" lines: every column stays in view, none scrolls sideways. */
  @media (max-width: 600px) {
    main { padding: 12px; }
    main table tr:has(th) { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
    main table tr { display: block; border-bottom: 1px solid #dde; padding: 4px 0; }
    main table td { display: flex; justify-content: space-between; gap: 12px; border: 0; padding: 2px 4px; text-align: right; white-space: normal; }
    main table td::before { content: attr(data-label); font-weight: 600; text-align: left; color: #5a6070; flex: none; }
    main table td.actions { justify-content: flex-end; }
    main table td.actions::before, main table td.muted::before { content: none; }
    main table td.muted { justify-content: flex-start; text-align: left; }
  }
  /* Audit trail: a change's sentence (a webhook URL, a list of tools) breaks anywhere rather than widen the page. */
  #audit td { overflow-wrap: anywhere; }
  #audit-section .key-form fieldset label { font-family: ui-monospace, monospace; font-size: 12px; }
  /* Top up: a top-up's ledger reason holds its transaction hash, which breaks anywhere rather than widen a phone's card. */
  #ledger td { overflow-wrap: anywhere; }
  /* spend and usage range: presets, custom days, CSV exports; the per-day chart's legend */
  .range-form fieldset { border: 1px solid #dde; border-radius: 6px; margin: 0 0 4px; display: flex; flex-wrap: wrap; gap: 4px 16px; }
  .range-form fieldset label { display: inline-flex; align-items: center; gap: 4px; }
  .range-custom { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: end; margin: 4px 0; }
  .range-custom label { display: flex; flex-direction: column; font-size: 13px; }
  .range-csv { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
  #range-shown { font-weight: 600; margin: 8px 0 4px; }
  #range-error:empty { display: none; }
  .legend { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; }
  .legend li { display: inline-flex; align-items: center; gap: 6px; font-weight: 600; overflow-wrap: anywhere; }
  .legend .swatch { width: 12px; height: 12px; border-radius: 2px; flex: none; }
  #new-key, #alert-secret { background: #eef7ee; border: 1px solid #9c9; border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
</style>
</head>
<body>
<header>
  <span class="brand">a2a-paygate</span>
  <h1 id="org-name" tabindex="-1">Billing dashboard</h1>
  <button id="rename" type="button" hidden>Rename</button>
  <form id="rename-form" hidden>
    <label for="rename-input" class="brand">Organization name</label>
    <input id="rename-input" maxlength="100" required autocomplete="organization">
    <button type="submit">Save</button><button type="button" id="rename-cancel">Cancel</button>
    <span id="rename-error" class="warn" role="alert"></span>
  </form>
  <a href="/reference">API reference</a><span id="who"></span><button id="signout" type="button" hidden>Sign out</button>
</header>
<section id="signin">
  <h2>Sign in</h2>
  <p>Paste an API key of your organization, or sign in with your wallet.</p>
  <label for="apikey">API key</label>
  <input id="apikey" placeholder="apg_…" autocomplete="off">
  <button id="use-key" type="button">Use API key</button>
  <button id="use-wallet" type="button">Sign in with wallet</button>
  <p id="signin-error" class="warn" role="alert"></p>
</section>
<main id="app" hidden>
  <section><h2>Balance</h2><div id="balance" class="big"></div><div id="balance-detail" class="muted"></div><div id="low-balance" class="warn"></div></section>
  <section id="topup-section" aria-labelledby="topup-title">
    <h2 id="topup-title">Top up</h2>
    <div id="topup"></div>
    <div id="topup-chain" hidden><p id="topup-chain-text"></p><button id="topup-switch" type="button">Switch wallet</button></div>
    <form id="topup-send-form" class="key-form" aria-labelledby="topup-send-title" hidden>
      <h3 id="topup-send-title" class="row">Send from your wallet</h3>
      <label>Amount in USDC <input id="topup-amount" required inputmode="decimal" autocomplete="off" maxlength="20" placeholder="e.g. 25"></label>
      <div class="row"><button id="topup-send" type="submit">Send from wallet</button></div>
    </form>
    <form id="topup-hash-form" class="key-form" aria-labelledby="topup-hash-title" hidden>
      <h3 id="topup-hash-title" class="row">Or submit a transfer made elsewhere</h3>
      <label>Transaction hash <input id="topup-hash" required autocomplete="off" spellcheck="false" maxlength="66" placeholder="0x…" pattern="0x[0-9a-fA-F]{64}" title="0x and 64 hex digits"></label>
      <div class="row"><button id="topup-hash-submit" type="submit">Submit hash</button></div>
    </form>
    <p id="topup-status" role="status"></p>
    <p id="topup-error" class="warn" role="alert"></p>
    <div class="scroll"><table id="topups" hidden></table></div>
  </section>
  <section class="wide" aria-labelledby="range-title">
    <h2 id="range-title">Spend and usage range</h2>
    <form id="range-form" class="range-form">
      <fieldset><legend>Range of UTC days, today included</legend>
        <label><input type="radio" name="range" value="today"> Today</label>
        <label><input type="radio" name="range" value="7"> 7 days</label>
        <label><input type="radio" name="range" value="30" checked> 30 days</label>
        <label><input type="radio" name="range" value="custom"> Custom</label>
      </fieldset>
      <div id="range-custom" class="range-custom" hidden>
        <label>First day (UTC) <input id="range-from" type="date" required min="0001-01-01" max="9998-12-30"></label>
        <label>Last day (UTC, included) <input id="range-to" type="date" required min="0001-01-01" max="9998-12-30"></label>
        <button type="submit">Show these days</button>
      </div>
    </form>
    <p id="range-shown" role="status"></p>
    <p id="range-error" class="warn" role="alert"></p>
    <div class="range-csv"><button id="usage-csv" type="button">Usage CSV (per day and tool)</button><button id="ledger-csv" type="button">Ledger CSV</button><span id="csv-status" class="muted" role="status"></span></div>
  </section>
  <section><h2>Spend per day, by tool</h2><div id="chart-day" role="img"></div><ul id="chart-day-legend" class="legend" aria-label="Tools"></ul></section>
  <section><h2>Spend by tool</h2><div id="chart-tool"></div><div class="scroll"><table id="usage"></table></div><p id="usage-total"></p></section>
  <section id="keys-section" class="wide" aria-labelledby="keys-title" hidden>
    <h2 id="keys-title">API keys</h2>
    <div class="scroll"><table id="keys"></table></div>
    <div id="new-key" role="status" hidden>
      <p><strong>Copy this key now: it is shown once.</strong></p>
      <code id="new-key-value"></code>
      <button id="copy-key" type="button">Copy key</button> <span id="copy-done" class="muted"></span>
    </div>
    <button id="key-new" type="button" hidden>New key</button>
    <form id="key-form" class="key-form" hidden>
      <h3 id="key-form-title" class="row">New key</h3>
      <label>Name <input id="key-name" required maxlength="100" autocomplete="off"></label>
      <label id="key-expires-field">Expires (optional) <input id="key-expires" type="date"></label>
      <label>Highest tier
        <select id="key-tier"><option value="">any tier</option><option value="0">0 raw data</option><option value="1">1 aggregated</option><option value="2">2 analysis</option><option value="3">3 AI-powered</option></select>
      </label>
      <fieldset><legend>Tools it may call (none ticked: every tool)</legend><div id="key-tools"></div></fieldset>
      <label>Spend cap in USDC (empty: none) <input id="key-cap" inputmode="decimal" autocomplete="off" placeholder="e.g. 5"></label>
      <label>Spend cap period <select id="key-cap-period"><option value="day">per UTC day</option><option value="month">per UTC month</option></select></label>
      <label>Rate limit, requests (empty: none) <input id="key-rate" type="number" min="1" max="1000000" step="1"></label>
      <label>Rate limit window, seconds <input id="key-rate-window" type="number" min="1" max="86400" step="1" value="60"></label>
      <div class="row"><button id="key-submit" type="submit">Create key</button><button id="key-cancel" type="button">Cancel</button></div>
      <p id="key-error" class="warn row" role="alert"></p>
    </form>
  </section>
  <section id="members-section" class="wide" aria-labelledby="members-title" hidden>
    <h2 id="members-title">Members</h2>
    <div class="scroll"><table id="members"></table></div>
    <form id="member-form" class="key-form" hidden>
      <h3 class="row">Add a wallet</h3>
      <label>Wallet address <input id="member-address" required autocomplete="off" spellcheck="false" placeholder="0x…" pattern="0x[0-9a-fA-F]{40}" title="a 0x-prefixed 20-byte hex address"></label>
      <label>Role <select id="member-role"><option value="viewer">viewer: reads</option><option value="admin">admin: manages keys and alerts</option><option value="owner">owner: also members and name</option></select></label>
      <div class="row"><button id="member-submit" type="submit">Add member</button></div>
    </form>
    <p id="member-error" class="warn" role="alert"></p>
  </section>
  <section id="alert-section" class="wide" aria-labelledby="alert-title" hidden>
    <h2 id="alert-title">Low-balance alert</h2>
    <p id="alert-state"></p>
    <div id="alert-secret" role="status" hidden>
      <p><strong>Copy this webhook signing secret now: it is shown once.</strong></p>
      <code id="alert-secret-value"></code>
      <button id="copy-secret" type="button">Copy secret</button> <span id="copy-secret-done" class="muted"></span>
    </div>
    <form id="alert-form" class="key-form" hidden>
      <label>Threshold in USDC <input id="alert-threshold" required inputmode="decimal" autocomplete="off" placeholder="e.g. 5"></label>
      <label>Webhook URL (optional) <input id="alert-webhook" type="url" autocomplete="off" placeholder="https://…"></label>
      <div class="row"><button id="alert-submit" type="submit">Save alert</button><button id="alert-remove" type="button" hidden>Remove alert</button></div>
    </form>
    <p id="alert-error" class="warn" role="alert"></p>
  </section>
  <section id="audit-section" class="wide" aria-labelledby="audit-title" hidden>
    <h2 id="audit-title">Audit trail</h2>
    <form id="audit-form" class="key-form" aria-label="Audit trail filters">
      <fieldset><legend>Actions (none ticked: every action)</legend><div id="audit-actions">${AUDIT_ACTIONS.map(
        (action) => `<label><input type="checkbox" name="action" value="${action}"> ${action}</label>`,
      ).join('')}</div></fieldset>
      <label>From (UTC day, optional) <input id="audit-from" type="date" min="0001-01-01" max="9998-12-30"></label>
      <label>To (UTC day, included, optional) <input id="audit-to" type="date" min="0001-01-01" max="9998-12-30"></label>
      <div class="row"><button id="audit-apply" type="submit">Show events</button><button id="audit-csv" type="button">Download CSV</button></div>
    </form>
    <p id="audit-error" class="warn" role="alert"></p>
    <div class="scroll"><table id="audit"></table></div>
    <button id="audit-more" type="button" hidden>Older</button>
  </section>
  <section class="wide"><h2>Ledger</h2><div class="scroll"><table id="ledger"></table></div><button id="ledger-more" type="button" hidden>Older</button></section>
  <section><h2>Recent tasks</h2><div class="scroll"><table id="tasks"></table></div><button id="tasks-more" type="button" hidden>Older</button></section>
  <section><h2>Prices</h2><div class="scroll"><table id="prices"></table></div><p id="freshness" class="muted"></p></section>
</main>
<script src="/dashboard/uplot.js"></script>
<script>
${SCRIPT}</script>
</body>
</html>
`;
