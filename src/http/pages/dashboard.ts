import { clientScript } from './client-script.js';

const SCRIPT = clientScript('dashboard');

/**
 * The billing dashboard: one HTML page with its script (dashboard.client.ts) inline and uPlot (served
 * beside it) for the charts; it reads the REST API with the key or session the visitor gives it, kept
 * sealed for this tab (credential.client.ts).
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
${SCRIPT}</script>
</body>
</html>
`;
