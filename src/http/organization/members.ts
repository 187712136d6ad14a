import { z } from 'zod';
import { addMember, listMembers, removeMember } from '../../auth/members.js';
import { claimUnclaimedTopUps } from '../../billing/topups.js';
import type { Database } from '../../db/client.js';
import type { Observer } from '../../domain/observer.js';
import { ApiError } from '../api-errors.js';
import { address, instant, role } from '../responses.js';
import { json, jsonRequest, type RestRouter, restRoute } from '../rest-route.js';
import { sessionActor } from '../session-auth.js';

/** A wallet as members are added and removed by: any case of 0x-hex (it is stored lower-case). */
const wallet = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');

const newMember = z.object({ address: wallet, role });

const member = z.strictObject({ address, orgId: z.uuid(), role, addedBy: address.nullable(), createdAt: instant });

export const membersRoute = restRoute({
  method: 'get',
  path: '/v1/members',
  summary: "The organization's wallets and roles",
  access: { session: 'viewer' },
  responses: { 200: json(z.strictObject({ members: z.array(member) }), 'the members') },
});

export const addMemberRoute = restRoute({
  method: 'post',
  path: '/v1/members',
  summary: 'Add a wallet with a role (owners)',
  access: { session: 'owner' },
  request: jsonRequest(newMember),
  refusals: [409],
  responses: { 201: json(z.strictObject({ member }), 'the member') },
});

export const removeMemberRoute = restRoute({
  method: 'delete',
  path: '/v1/members/{address}',
  summary: 'Remove a wallet (owners; never the last owner)',
  access: { session: 'owner' },
  request: { params: z.object({ address: z.string().describe('the wallet, 0x-hex') }) },
  refusals: [400, 404, 409],
  responses: { 204: { description: 'removed' } },
});

/** Member wallets: every member reads them, owners add and remove them. */
export function addMemberRoutes(api: RestRouter, deps: { db: Database; observe: Observer }) {
  api.add(membersRoute, async (c) => c.json({ members: await listMembers(deps.db, c.get('member').orgId) }, 200));
  api.add(addMemberRoute, async (c) => {
    const body = c.req.valid('json');
    const me = c.get('member');
    const added = await addMember(deps.db, { orgId: me.orgId, address: body.address, role: body.role, by: sessionActor(c) });
    if (!added.ok) {
      throw new ApiError(
        'conflict',
        added.reason === 'already_member'
          ? 'the wallet is already a member of this organization'
          : 'the wallet belongs to another organization; a wallet is a member of one',
        added.reason,
      );
    }
    await claimUnclaimedTopUps(deps.db, deps.observe, added.member.address);
    return c.json({ member: added.member }, 201);
  });
  api.add(removeMemberRoute, async (c) => {
    const target = wallet.safeParse(c.req.param('address'));
    if (!target.success) throw new ApiError('invalid_request', 'the path must name a 0x-prefixed 20-byte address', 'invalid_address');
    const removed = await removeMember(deps.db, { orgId: c.get('member').orgId, address: target.data, by: sessionActor(c) });
    if (!removed.ok && removed.reason === 'not_a_member')
      throw new ApiError('not_found', 'no such member in this organization', 'not_a_member');
    if (!removed.ok) throw new ApiError('conflict', 'the last owner cannot be removed; make another wallet owner first', 'last_owner');
    return c.body(null, 204);
  });
}
