import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import type { RateLimiter } from '../../src/limits/rate-limiter.js';
import { openRedisRateLimiter } from '../../src/limits/redis-store.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { MACHINE_REDIS_URL, uniqueKeyPrefix } from '../helpers/redis.js';
import { needs } from '../helpers/requirements.js';

/**
 * The operator files of issue 17 (deploy/): the Prometheus alerts and the Grafana dashboard name
 * only metrics the gateway exports — a renamed metric would otherwise leave an alert that never
 * fires and a panel that stays empty, silently — and promtool accepts them.
 */

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const ALERTS = join(DEPLOY, 'prometheus/alerts.yml');
const ALERT_TESTS = join(DEPLOY, 'prometheus/alerts.test.yml');
const SCRAPE_CONFIG = join(DEPLOY, 'prometheus/prometheus.yml');
const DASHBOARD = join(DEPLOY, 'grafana/a2a-paygate.json');
const PROMTOOL = '/usr/bin/promtool';

/** Every alert pages with a severity, a delay and words for the operator. */
const AlertRules = z.object({
  groups: z
    .array(
      z.object({
        name: z.string(),
        rules: z
          .array(
            z.object({
              alert: z.string().min(1),
              expr: z.string().min(1),
              for: z.string().regex(/^\d+[smh]$/),
              labels: z.object({ severity: z.enum(['critical', 'warning']) }),
              annotations: z.object({ summary: z.string().min(1), description: z.string().min(1) }),
            }),
          )
          .min(1),
      }),
    )
    .min(1),
});

/** Each query goes to the dashboard's data source variable, so the operator picks the Prometheus at import. */
const Target = z.object({
  expr: z.string().min(1),
  refId: z.string(),
  datasource: z.object({ type: z.literal('prometheus'), uid: z.string().regex(/^\$\{datasource\}$/) }),
});
const Panel = z.object({ id: z.number().int(), type: z.string(), title: z.string().min(1), targets: z.array(Target).default([]) });
const Dashboard = z.object({
  uid: z.string().min(1),
  title: z.string().min(1),
  schemaVersion: z.number().int().min(36),
  templating: z.object({
    list: z.array(z.object({ name: z.string(), type: z.string(), query: z.unknown(), definition: z.string().optional() })),
  }),
  panels: z.array(Panel.extend({ panels: z.array(Panel).default([]) })),
});

/** The metric names a PromQL expression reads: ours, the process ones, and Prometheus's own `up`. */
function metricNames(expr: string): string[] {
  // Label values are dropped first: `outcome="gave_up"` names no metric.
  const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...code.matchAll(/\b(?:paygate|process|nodejs)_\w+|\bup\b/g)].map((match) => match[0]);
}

/** `# TYPE <name> <type>` of every metric in the exposition: registered ones show it before their first sample. */
function exportedTypes(exposition: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const line of exposition.split('\n')) {
    const match = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (match) types.set(match[1] as string, match[2] as string);
  }
  return types;
}

/** The name a query reads as the gateway exports it: a histogram's series are its name plus _bucket, _sum or _count. */
function exportedName(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  const series = /^(.+)_(?:bucket|sum|count)$/.exec(name);
  return series && types.get(series[1] as string) === 'histogram' ? series[1] : undefined;
}

/** The names `queries` read that the gateway does not export (`up` is Prometheus's own). */
function unexported(queries: string[], types: Map<string, string>): string[] {
  const names = new Set(queries.flatMap(metricNames));
  return [...names].filter((name) => name !== 'up' && exportedName(name, types) === undefined).sort();
}

const readAlerts = async () => AlertRules.parse(parse(await readFile(ALERTS, 'utf8')));
const readDashboard = async () => Dashboard.parse(JSON.parse(await readFile(DASHBOARD, 'utf8')));

const alertQueries = async () => (await readAlerts()).groups.flatMap((group) => group.rules.map((rule) => rule.expr));

/** Every PromQL query of the dashboard: its panels' (rows' nested ones too) and its variables'. */
async function dashboardQueries(): Promise<string[]> {
  const dashboard = await readDashboard();
  const panels = dashboard.panels.flatMap((panel) => [panel, ...panel.panels]);
  const variables = dashboard.templating.list.flatMap((variable) => (variable.definition === undefined ? [] : [variable.definition]));
  return [...panels.flatMap((panel) => panel.targets.map((target) => target.expr)), ...variables];
}

describe('the operator files name only metrics the gateway exports', () => {
  let rateLimiter: RateLimiter;
  let gateway: TestGateway;
  let types: Map<string, string>;
  beforeAll(async () => {
    // A chain indexed and rate limits in Redis: the gauges that exist only then (indexer lag, Redis up) are exported too.
    rateLimiter = await openRedisRateLimiter({ url: MACHINE_REDIS_URL, log: pino({ level: 'silent' }), keyPrefix: uniqueKeyPrefix() });
    gateway = await startTestGateway({ metrics: 'served', indexedChainId: 31337, rateLimiter });
    const response = await gateway.app.request('/metrics');
    expect(response.status).toBe(200);
    types = exportedTypes(await response.text());
  });
  afterAll(async () => {
    await gateway?.close();
    await rateLimiter?.close();
  });

  it('the alerts: every metric they read is exported, and they watch each failure issue 17 names', async () => {
    const queries = await alertQueries();
    expect(unexported(queries, types)).toEqual([]);
    const watched = new Set(queries.flatMap(metricNames));
    for (const name of [
      'up',
      'paygate_tool_calls_total',
      'paygate_refusals_total',
      'paygate_indexer_lag_blocks',
      'paygate_push_backlog',
      'paygate_push_deliveries_total',
      'paygate_db_pool_waiting',
      'paygate_db_pool_in_use',
      'paygate_redis_up',
    ]) {
      expect(watched, name).toContain(name);
    }
  });

  it('the dashboard: every metric it reads is exported, and every paygate_ metric is on it', async () => {
    const queries = await dashboardQueries();
    expect(unexported(queries, types)).toEqual([]);
    const shown = new Set(queries.flatMap(metricNames).map((name) => exportedName(name, types)));
    const ours = [...types.keys()].filter((name) => name.startsWith('paygate_'));
    expect(ours.filter((name) => !shown.has(name))).toEqual([]);
  });

  it('the dashboard picks its Prometheus and instances through variables, every panel id once', async () => {
    const dashboard = await readDashboard();
    const variables = dashboard.templating.list;
    expect(variables.find((variable) => variable.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(variables.find((variable) => variable.name === 'instance')).toMatchObject({ type: 'query' });
    const panels = dashboard.panels.flatMap((panel) => [panel, ...panel.panels]);
    const ids = panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels.filter((candidate) => candidate.type !== 'row')) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) expect(target.expr, panel.title).toContain('job="a2a-paygate"');
    }
  });
});

/** Runs promtool; its exit code and everything it printed (the reason when it fails). */
function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(PROMTOOL, args, { cwd: DEPLOY }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe('promtool accepts the operator files', needs('promtool'), () => {
  it('check rules: the alerts', async () => {
    const { code, output } = await promtool('check', 'rules', ALERTS);
    expect(code, output).toBe(0);
  });

  it('test rules: the alerts fire on the series they are meant for, and not on the quiet ones', async () => {
    const { code, output } = await promtool('test', 'rules', ALERT_TESTS);
    expect(code, output).toBe(0);
  });

  it('check config: the example scrape config (syntax: its token file is the operator’s)', async () => {
    const { code, output } = await promtool('check', 'config', '--syntax-only', SCRAPE_CONFIG);
    expect(code, output).toBe(0);
  });

  it('check rules: every dashboard query is valid PromQL', async () => {
    // Grafana's variables stand in for what it substitutes before a query reaches Prometheus.
    const queries = (await dashboardQueries()).filter((query) => !query.startsWith('label_values('));
    const rules = queries.map((query, index) => ({
      record: `dashboard:query_${index}`,
      expr: query.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*'),
    }));
    const dir = await mkdtemp(join(tmpdir(), 'paygate-dashboard-'));
    try {
      const file = join(dir, 'dashboard-rules.yml');
      await writeFile(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
      const { code, output } = await promtool('check', 'rules', file);
      expect(code, output).toBe(0);
      expect(output).toContain(`${rules.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
