import { randomUUID } from 'node:crypto';
import { InvalidInput, TaskNotFound } from '../domain/errors.js';
import type { CallerContext } from '../tasks/context.js';
import { findTask, isTaskId } from '../tasks/store.js';
import { isWebhookUrl } from '../webhooks/destination.js';
import {
  deletePushConfig,
  getPushConfig,
  listPushConfigs,
  MAX_OPEN_PUSH_CONFIGS_PER_ORG,
  MAX_PUSH_CONFIGS_PER_TASK,
  type PushConfig,
  type PushLimit,
  type PushProtocol,
  pushLimitReached,
  setPushConfig,
} from './configs.js';

export interface PushRequest {
  taskId: string;
  /** the config's id within the task; a new one when not given */
  id?: string | undefined;
  url: string;
  token?: string | undefined;
  /** sent with each delivery as `Authorization: <scheme> <credentials>` */
  authentication?: { scheme: string; credentials?: string | undefined } | undefined;
}

async function ownTask(ctx: CallerContext, taskId: string): Promise<void> {
  if (!(await findTask(ctx.db, ctx.orgId, taskId))) throw new TaskNotFound(taskId);
}

/**
 * Refuses a webhook that could never be registered, from its own values alone. A send that names
 * one calls this before anything runs or is charged: a call is never charged and then refused.
 */
export function checkPushRequest(request: Omit<PushRequest, 'taskId'>): void {
  if (!isWebhookUrl(request.url)) {
    throw new InvalidInput('invalid_webhook_url', 'the webhook url must be an http(s) URL without credentials, at most 2048 characters');
  }
}

function limitError(limit: PushLimit, taskId: string | undefined) {
  const max = limit === 'task' ? MAX_PUSH_CONFIGS_PER_TASK : MAX_OPEN_PUSH_CONFIGS_PER_ORG;
  const what = limit === 'task' ? 'a task' : "an organization's unfinished tasks";
  return new InvalidInput('push_config_limit', `${what} may have at most ${max} push notification configs`, {
    limit,
    max,
    ...(taskId ? { taskId } : {}),
  });
}

/**
 * What a send that names a webhook checks before anything runs: the webhook itself, and room for
 * it on the task it continues (or, for a new task, in the organization).
 */
export async function checkPushWithSend(
  ctx: CallerContext,
  request: Omit<PushRequest, 'taskId'>,
  taskId: string | undefined,
): Promise<void> {
  checkPushRequest(request);
  // Not a task id at all: the send answers "task not found" itself.
  const task = taskId !== undefined && isTaskId(taskId) ? taskId : undefined;
  const limit = await pushLimitReached(ctx.db, { orgId: ctx.orgId, taskId: task, id: request.id });
  if (limit) throw limitError(limit, taskId);
}

/**
 * Registers a webhook for one of the caller's tasks (another organization's task is not found);
 * refused past the limits per task and per organization.
 */
export async function registerPush(
  ctx: CallerContext,
  request: PushRequest,
  protocol: PushProtocol,
): Promise<PushConfig | { limit: PushLimit }> {
  checkPushRequest(request);
  await ownTask(ctx, request.taskId);
  return setPushConfig(ctx.db, {
    orgId: ctx.orgId,
    taskId: request.taskId,
    id: request.id || randomUUID(),
    url: request.url,
    token: request.token || null,
    authentication: request.authentication
      ? { scheme: request.authentication.scheme, credentials: request.authentication.credentials || null }
      : null,
    protocol,
  });
}

/** registerPush for a method of its own: a limit reached is the caller's error. */
export async function registerPushOrRefuse(ctx: CallerContext, request: PushRequest, protocol: PushProtocol): Promise<PushConfig> {
  const registered = await registerPush(ctx, request, protocol);
  if ('limit' in registered) throw limitError(registered.limit, request.taskId);
  return registered;
}

export async function readPush(ctx: CallerContext, taskId: string, id: string | undefined): Promise<PushConfig> {
  await ownTask(ctx, taskId);
  const config = id
    ? await getPushConfig(ctx.db, { orgId: ctx.orgId, taskId, id })
    : (await listPushConfigs(ctx.db, { orgId: ctx.orgId, taskId }))[0];
  if (!config)
    throw new InvalidInput('push_config_not_found', `task ${taskId} has no push notification config ${id ?? ''}`.trim(), { taskId });
  return config;
}

export async function listPush(ctx: CallerContext, taskId: string): Promise<PushConfig[]> {
  await ownTask(ctx, taskId);
  return listPushConfigs(ctx.db, { orgId: ctx.orgId, taskId });
}

export async function removePush(ctx: CallerContext, taskId: string, id: string): Promise<void> {
  await ownTask(ctx, taskId);
  if (!(await deletePushConfig(ctx.db, { orgId: ctx.orgId, taskId, id }))) {
    throw new InvalidInput('push_config_not_found', `task ${taskId} has no push notification config ${id}`, { taskId });
  }
}
