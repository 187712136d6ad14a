import { z } from 'zod';
import { getOrganization, renameOrganization } from '../../auth/organizations.js';
import type { Database } from '../../db/client.js';
import { instant } from '../responses.js';
import { json, jsonRequest, type RestRouter, restRoute } from '../rest-route.js';
import { sessionActor } from '../session-auth.js';

/** An organization's name is shown in headers and lists: one line, no control characters. */
const organizationName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters');

const organizationAnswer = z.strictObject({ id: z.uuid(), name: z.string(), createdAt: instant });

export const organizationRoute = restRoute({
  method: 'get',
  path: '/v1/organization',
  summary: 'The organization of the API key or session: its id, name and when it was created',
  access: 'caller',
  responses: { 200: json(organizationAnswer, 'the organization') },
});

export const renameOrganizationRoute = restRoute({
  method: 'patch',
  path: '/v1/organization',
  summary: 'Rename the organization (owners)',
  access: { session: 'owner' },
  request: jsonRequest(z.strictObject({ name: organizationName })),
  responses: { 200: json(organizationAnswer, 'the organization now') },
});

/** The organization itself: anyone of it reads its name (key or session), owners rename it. */
export function addOrganizationRoutes(api: RestRouter, deps: { db: Database }) {
  const read = async (orgId: string) => {
    const found = await getOrganization(deps.db, orgId);
    // A key or session outlives no organization (nothing deletes one): this is the impossible case.
    if (!found) throw new Error(`organization ${orgId} of a live credential not found`);
    return { id: found.id, name: found.name, createdAt: found.createdAt };
  };
  api.add(organizationRoute, async (c) => c.json(await read(c.get('caller').orgId), 200));
  api.add(renameOrganizationRoute, async (c) => {
    const member = c.get('member');
    const renamed = await renameOrganization(deps.db, { orgId: member.orgId, name: c.req.valid('json').name, by: sessionActor(c) });
    if (!renamed) throw new Error(`organization ${member.orgId} of a live session not found`);
    c.get('log').info({ org: member.orgId, by: member.address }, 'organization renamed');
    return c.json(await read(member.orgId), 200);
  });
}
