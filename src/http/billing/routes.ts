import type { Sessions } from '../../auth/sessions.js';
import type { Database } from '../../db/client.js';
import type { ToolRegistry } from '../../tools/registry.js';
import { restRouter } from '../rest-route.js';
import { addBalanceRoute } from './balance.js';
import { addEarningsRoutes } from './earnings.js';
import { addLedgerRoutes } from './ledger.js';
import { addTaskRoutes } from './tasks.js';
import { addUsageRoutes } from './usage.js';

/**
 * What billing dashboards read: balance, ledger, usage, a provider's earnings and tasks of the
 * caller's organization (by API key or wallet session), and CSV exports of the ledger, usage and
 * earnings. Aggregates are computed by PostgreSQL; pages are keyset cursors.
 */
export function billingRoutes(deps: { db: Database; sessions: Sessions; tools: ToolRegistry }) {
  const api = restRouter(deps);
  addBalanceRoute(api, deps);
  addLedgerRoutes(api, deps);
  addUsageRoutes(api, deps);
  addEarningsRoutes(api, deps);
  addTaskRoutes(api, deps);
  return api.router;
}
