import type { Sessions } from '../../auth/sessions.js';
import type { Database } from '../../db/client.js';
import type { Observer } from '../../domain/observer.js';
import type { ToolRegistry } from '../../tools/registry.js';
import { restRouter } from '../rest-route.js';
import { addAuditRoutes } from './audit.js';
import { addKeyRoutes } from './keys.js';
import { addLowBalanceRoutes } from './low-balance.js';
import { addMemberRoutes } from './members.js';
import { addOrganizationRoutes } from './organization.js';
import { addPolicyRoutes } from './policies.js';
import { addTopUpRoutes, type TopUpReader } from './topups.js';

/**
 * What a signed-in wallet manages for its organization: its name (owners), member wallets (owners), API keys and their
 * policies (admins), the organization's policy, the low-balance signal and top-ups; and the audit
 * trail of those changes (admins).
 */
export function organizationRoutes(deps: {
  db: Database;
  sessions: Sessions;
  topUpReader: TopUpReader | undefined;
  tools: ToolRegistry;
  clock: () => Date;
  /** told what the top-ups credited here were */
  observe: Observer;
}) {
  const api = restRouter(deps);
  addOrganizationRoutes(api, deps);
  addMemberRoutes(api, deps);
  addLowBalanceRoutes(api, deps);
  addKeyRoutes(api, deps);
  addPolicyRoutes(api, deps);
  addTopUpRoutes(api, { db: deps.db, reader: deps.topUpReader, observe: deps.observe });
  addAuditRoutes(api, deps);
  return api.router;
}
