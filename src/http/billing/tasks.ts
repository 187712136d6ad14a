import { z } from 'zod';
import type { Database } from '../../db/client.js';
import { TASK_STATES } from '../../domain/task-model.js';
import { decodePageToken, encodePageToken } from '../../tasks/service.js';
import { findTask, isTaskId, listTaskPage } from '../../tasks/store.js';
import { toTaskView } from '../../tasks/view.js';
import { ApiError } from '../api-errors.js';
import { display, instant, micro } from '../responses.js';
import { json, type RestRouter, restRoute } from '../rest-route.js';
import { limit, range } from './query.js';

const tasksQuery = z.strictObject({
  state: z.enum(TASK_STATES).optional(),
  tool: z.string().max(100).optional(),
  ...range,
  limit: limit(200, 50),
  cursor: z.string().max(200).optional(),
});

const part = z
  .object({ kind: z.enum(['text', 'data', 'file']), text: z.string().optional(), data: z.unknown().optional() })
  .describe('an A2A part: text, data (JSON) or file');
const message = z.object({ messageId: z.string(), role: z.enum(['user', 'agent']), parts: z.array(part) }).describe('an A2A message');
const artifact = z.object({ artifactId: z.string(), name: z.string(), parts: z.array(part) });

const taskSummary = {
  id: z.uuid(),
  contextId: z.string(),
  state: z.enum(TASK_STATES),
  timestamp: instant.describe('the last state change'),
  tool: z.string().nullable(),
  createdAt: instant,
  statusMessage: message.optional().describe('why it failed or what input it needs'),
  artifacts: z.array(artifact).describe("the tool's result"),
  history: z.array(message),
  metadata: z.strictObject({
    tool: z.string().optional(),
    tool_version: z.string().optional().describe('the version of the tool the call was accepted for'),
    deprecation: z.string().optional().describe('set when that version was deprecated at the call: which version to move to'),
    cost_micro_usdc: micro,
    cost_display: display,
    charged: z.boolean(),
    duration_ms: z.number().int().optional(),
  }),
};

const tasksAnswer = z.strictObject({
  tasks: z.array(z.strictObject(taskSummary)),
  nextCursor: z.string().nullable(),
  total: z.number().int().describe('how many tasks match the filters'),
});

const taskAnswer = z.strictObject({ ...taskSummary, arguments: z.unknown() });

export const tasksRoute = restRoute({
  method: 'get',
  path: '/v1/tasks',
  summary: 'Tasks with filters, newest first, by keyset cursor',
  access: 'caller',
  request: { query: tasksQuery },
  responses: { 200: json(tasksAnswer, 'a page of tasks') },
});

export const taskRoute = restRoute({
  method: 'get',
  path: '/v1/tasks/{id}',
  summary: 'One task of the organization',
  access: 'caller',
  request: { params: z.object({ id: z.string().describe('the task id') }) },
  refusals: [404],
  responses: { 200: json(taskAnswer, 'the task') },
});

export function addTaskRoutes(api: RestRouter, deps: { db: Database }) {
  api.add(tasksRoute, async (c) => {
    const query = c.req.valid('query');
    const before = query.cursor ? decodePageToken(query.cursor) : undefined;
    const { rows, total } = await listTaskPage(deps.db, c.get('caller').orgId, {
      ...(query.state ? { state: query.state } : {}),
      ...(query.tool ? { tool: query.tool } : {}),
      ...(query.from ? { createdFrom: query.from.toISOString() } : {}),
      ...(query.to ? { createdTo: query.to.toISOString() } : {}),
      ...(before ? { before } : {}),
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return c.json(
      {
        tasks: page.map((row) => ({ ...toTaskView(row, { historyLength: 0 }), tool: row.tool, createdAt: row.created_at })),
        nextCursor: rows.length > query.limit && last ? encodePageToken(last) : null,
        total,
      },
      200,
    );
  });
  api.add(taskRoute, async (c) => {
    const id = c.req.param('id');
    // Another organization's task is "not found", exactly like one that does not exist.
    const row = isTaskId(id) ? await findTask(deps.db, c.get('caller').orgId, id) : undefined;
    if (!row) throw new ApiError('not_found', `no task ${id} in this organization`, 'unknown_task');
    return c.json({ ...toTaskView(row), tool: row.tool, arguments: row.arguments, createdAt: row.created_at }, 200);
  });
}
