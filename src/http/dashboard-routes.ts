import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Hono } from 'hono';
import type { TopUpChain } from '../chain/client.js';
import { DASHBOARD_HTML } from './dashboard-page.js';
import type { AppEnv } from './env.js';
import type { Answer, configAnswer } from './responses.js';

const require = createRequire(import.meta.url);
/** uPlot, read once from the installed package and served beside the page (no CDN: the page works offline). */
const UPLOT_JS = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'));
const UPLOT_CSS = readFileSync(require.resolve('uplot/dist/uPlot.min.css'));
const ASSET_CACHE = 'public, max-age=86400';

/** GET /dashboard (the billing page and its chart library) and GET /v1/config (what the page needs to explain top-ups). */
export function dashboardRoutes(deps: { topUpChain: TopUpChain | undefined }) {
  const topUps = deps.topUpChain
    ? { chainId: deps.topUpChain.chainId, usdc: deps.topUpChain.usdc, treasury: deps.topUpChain.treasury, confirmations: deps.topUpChain.confirmations }
    : null;
  return new Hono<AppEnv>()
    .get('/dashboard', (c) => c.html(DASHBOARD_HTML))
    .get('/dashboard/uplot.js', (c) => c.body(UPLOT_JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': ASSET_CACHE }))
    .get('/dashboard/uplot.css', (c) => c.body(UPLOT_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': ASSET_CACHE }))
    .get('/v1/config', (c) => c.json({ topUps } satisfies Answer<typeof configAnswer>));
}
