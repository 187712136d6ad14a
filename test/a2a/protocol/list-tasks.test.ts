/**
 * ListTasks: paging, filters by status and time, artifacts, bad params and page tokens.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { NewOrganization } from '../../../src/auth/organizations.js';
import { expectResult, expectRpcError } from '../support.js';
import { useProtocolSuite } from './suite.js';

const { suite, rpc, completedTask, waitingTask } = useProtocolSuite();

describe('ListTasks', () => {
  let lister: NewOrganization;
  const created: Array<{ id: string; state: string }> = [];

  beforeAll(async () => {
    lister = await suite.gateway.createOrg({ name: 'lister', credits: 1_000_000n });
    for (let i = 0; i < 5; i++) {
      const task =
        i % 2 === 0 ? await waitingTask(lister.apiKey.key) : await completedTask(lister.apiKey.key, 'getAgentProfile', { agentId: i });
      created.push({ id: task.id, state: task.status.state });
    }
  });

  const list = (params: Record<string, unknown>) => rpc('ListTasks', params, lister.apiKey.key);

  it('pages with pageSize and nextPageToken, newest first, totalSize on every page', async () => {
    const seen: string[] = [];
    let pageToken: string | undefined;
    const sizes: number[] = [];
    for (let page = 0; page < 10; page++) {
      const result = expectResult(await list({ pageSize: 2, ...(pageToken ? { pageToken } : {}) }));
      expect(result.totalSize).toBe(5);
      expect(result.pageSize).toBe(2);
      sizes.push(result.tasks.length);
      seen.push(...result.tasks.map((task: { id: string }) => task.id));
      if (result.nextPageToken === '') break;
      expect(typeof result.nextPageToken).toBe('string');
      pageToken = result.nextPageToken;
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(created.map((task) => task.id).reverse());
  });

  it('filters by status (TASK_STATE_* names), with paging inside the filter', async () => {
    const completed = expectResult(await list({ status: 'TASK_STATE_COMPLETED' }));
    expect(completed.totalSize).toBe(2);
    expect(completed.tasks.map((t: { status: { state: string } }) => t.status.state)).toEqual([
      'TASK_STATE_COMPLETED',
      'TASK_STATE_COMPLETED',
    ]);
    const waiting = expectResult(await list({ status: 'TASK_STATE_INPUT_REQUIRED' }));
    expect(waiting.totalSize).toBe(3);
    expect(expectResult(await list({ status: 'TASK_STATE_CANCELED' })).totalSize).toBe(0);

    const first = expectResult(await list({ status: 'TASK_STATE_COMPLETED', pageSize: 1 }));
    expect(first.tasks).toHaveLength(1);
    expect(first.nextPageToken).not.toBe('');
    const second = expectResult(await list({ status: 'TASK_STATE_COMPLETED', pageSize: 1, pageToken: first.nextPageToken }));
    expect(second.tasks).toHaveLength(1);
    expect(second.tasks[0].id).not.toBe(first.tasks[0].id);
    expect(second.nextPageToken).toBe('');
    expect(second.totalSize).toBe(2);
  });

  it('statusTimestampAfter keeps tasks whose status changed after the instant', async () => {
    const all = expectResult(await list({})).tasks as Array<{ id: string; status: { timestamp: string } }>;
    const oldest = all.at(-1);
    const newest = all[0];
    if (!oldest || !newest) throw new Error('the lister has tasks');
    const beforeOldest = new Date(Date.parse(oldest.status.timestamp) - 1000).toISOString();
    expect(expectResult(await list({ statusTimestampAfter: beforeOldest })).totalSize).toBe(5);
    const afterNewest = new Date(Date.parse(newest.status.timestamp) + 60_000).toISOString();
    expect(expectResult(await list({ statusTimestampAfter: afterNewest })).totalSize).toBe(0);
    expect(expectResult(await list({ statusTimestampAfter: '2000-01-01T00:00:00+02:00' })).totalSize).toBe(5);
  });

  it('leaves artifacts out unless includeArtifacts is true', async () => {
    const without = expectResult(await list({ status: 'TASK_STATE_COMPLETED' }));
    for (const task of without.tasks) expect(task.artifacts).toBeUndefined();
    const withArtifacts = expectResult(await list({ status: 'TASK_STATE_COMPLETED', includeArtifacts: true }));
    for (const task of withArtifacts.tasks) expect(task.artifacts[0].parts[0].data).toHaveProperty('agent_id');
  });

  it.each([
    ['a 0.3 state name', { status: 'completed' }, 'status'],
    ['pageSize 0', { pageSize: 0 }, 'pageSize'],
    ['pageSize 101', { pageSize: 101 }, 'pageSize'],
    ['a non-datetime statusTimestampAfter', { statusTimestampAfter: 'yesterday' }, 'statusTimestampAfter'],
  ])('%s → -32602', async (_name, params, path) => {
    const error = expectRpcError(await list(params), -32602);
    expect((error.data?.issues as Array<{ path: string }> | undefined)?.map((i) => i.path)).toContain(path);
  });

  it('a pageToken the gateway did not issue → -32602 invalid_page_token', async () => {
    for (const pageToken of ['garbage', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('["nope","x"]').toString('base64url')]) {
      const error = expectRpcError(await list({ pageToken }), -32602);
      expect(error.data).toEqual({ reason: 'invalid_page_token' });
    }
  });
});

/** Regression tests for defects this suite found in src/ (each comment names the cause). */
describe('edge cases found by this suite', () => {
  // src/tasks/service.ts decodePageToken only checks that id is a string and createdAt passes
  // Date.parse; the values then reach `::uuid` / `::timestamptz` casts and a caller-made token
  // becomes an internal error (-32603) instead of -32602 invalid_page_token.
  it.each([
    ['an id that is not a uuid', ['2020-01-01T00:00:00.000000Z', 'not-a-uuid']],
    ['a createdAt PostgreSQL cannot read', ['0', '00000000-0000-0000-0000-000000000000']],
  ])('a forged pageToken with %s → -32602 invalid_page_token', async (_name, content) => {
    const pageToken = Buffer.from(JSON.stringify(content)).toString('base64url');
    const error = expectRpcError(await rpc('ListTasks', { pageToken }), -32602);
    expect(error.data).toEqual({ reason: 'invalid_page_token' });
  });

  // src/tasks/store.ts listTaskPage filters `updated_at > statusTimestampAfter`; A2A 1.0 says tasks
  // whose status timestamp is greater than OR EQUAL to the value are returned.
  it("ListTasks statusTimestampAfter equal to a task's status timestamp includes that task", async () => {
    const task = await waitingTask();
    const listed = expectResult(await rpc('ListTasks', { statusTimestampAfter: task.status.timestamp }));
    expect(listed.tasks.map((t: { id: string }) => t.id)).toContain(task.id);
  });

  // src/a2a/v1.ts v1ListTasksParams.statusTimestampAfter: z.iso.datetime({ offset: true }) accepts
  // RFC 3339 values PostgreSQL's timestamptz refuses (year 0000, offsets beyond ±15:59), and they
  // reach the query as text → -32603. A caller's value is answered (normalized) or refused (-32602).
  it.each(['0000-01-01T00:00:00Z', '2025-01-01T00:00:00+23:59'])(
    'statusTimestampAfter %s is answered or refused with -32602, never an internal error',
    async (statusTimestampAfter) => {
      const reply = await rpc('ListTasks', { statusTimestampAfter });
      expect(reply.status).toBe(200);
      expect(reply.body.error?.code ?? 'result', reply.text.slice(0, 300)).not.toBe(-32603);
      if (reply.body.error) {
        expect(reply.body.error.code).toBe(-32602);
        expect(JSON.stringify(reply.body.error.data)).toMatch(/statusTimestampAfter/);
      } else {
        expect(Array.isArray(reply.body.result.tasks)).toBe(true);
      }
    },
  );
});
