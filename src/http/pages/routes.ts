import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Hono } from 'hono';
import { accepts } from 'hono/accepts';
import { baseUrlOf } from '../base-url.js';
import type { AppEnv } from '../env.js';
import { DASHBOARD_HTML } from './dashboard.js';
import { LANDING_HTML, landingIndex } from './landing.js';
import { REFERENCE_HTML } from './reference.js';

const require = createRequire(import.meta.url);
/** uPlot, read once from the installed package and served beside the page (no CDN: the page works offline). */
const UPLOT_JS = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'));
const UPLOT_CSS = readFileSync(require.resolve('uplot/dist/uPlot.min.css'));
const ASSET_CACHE = 'public, max-age=86400';

/**
 * What people open in a browser: the landing page at / (JSON for API clients), the billing dashboard
 * and its chart library, and the API reference with the OpenAPI document it is rendered from.
 */
export function pageRoutes(deps: { publicUrl: string | undefined; openApiDocument: (baseUrl: string) => Record<string, unknown> }) {
  return new Hono<AppEnv>()
    .get('/', (c) => {
      c.header('Vary', 'Accept');
      // curl and most clients send */* or nothing: JSON unless HTML is asked for by name.
      const wanted = accepts(c, { header: 'Accept', supports: ['application/json', 'text/html'], default: 'application/json' });
      return wanted === 'text/html' ? c.html(LANDING_HTML) : c.json(landingIndex(baseUrlOf(deps.publicUrl, c.req.url)));
    })
    .get('/dashboard', (c) => c.html(DASHBOARD_HTML))
    .get('/dashboard/uplot.js', (c) =>
      c.body(UPLOT_JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': ASSET_CACHE }),
    )
    .get('/dashboard/uplot.css', (c) => c.body(UPLOT_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': ASSET_CACHE }))
    .get('/reference', (c) => c.html(REFERENCE_HTML))
    .get('/openapi.json', (c) => c.json(deps.openApiDocument(baseUrlOf(deps.publicUrl, c.req.url))));
}
