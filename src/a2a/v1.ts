import { z } from 'zod';
import { boundedInstant } from '../db/ranges.js';
import type { Artifact, Message, Part, TaskState, TaskView } from '../domain/task-model.js';
import type { PushConfig } from '../push/configs.js';
import { identifier, identifierList, uriList } from './identifiers.js';
import { pushAuthScheme, pushCredentials } from './push-authentication.js';
import type { TaskEvent } from './task-events.js';

/** A2A 1.0 (protobuf-JSON): enum names such as ROLE_USER, parts told apart by their one content field. */

const metadata = z.record(z.string(), z.unknown());

const CONTENT_FIELDS = ['text', 'raw', 'url', 'data'] as const;

const part = z
  .object({
    text: z.string().optional(),
    raw: z.string().optional(),
    url: z.string().optional(),
    data: z.unknown().optional(),
    mediaType: z.string().optional(),
    filename: z.string().optional(),
    metadata: metadata.optional(),
  })
  .superRefine((value, ctx) => {
    const present = CONTENT_FIELDS.filter((field) => value[field] !== undefined);
    if (present.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          present.length === 0
            ? 'unknown part: a part holds exactly one of text, raw, url or data'
            : `a part holds exactly one of text, raw, url or data, not ${present.join(' and ')}`,
      });
    }
  })
  .transform((value): Part => {
    const common = value.metadata ? { metadata: value.metadata } : {};
    if (value.text !== undefined) return { kind: 'text', text: value.text, ...common };
    if (value.data !== undefined) return { kind: 'data', data: value.data, ...common };
    const file = value.url !== undefined ? { url: value.url } : { bytes: value.raw ?? '' };
    return {
      kind: 'file',
      file,
      ...(value.mediaType ? { mediaType: value.mediaType } : {}),
      ...(value.filename ? { filename: value.filename } : {}),
      ...common,
    };
  });

const role = z.union([z.literal('ROLE_USER'), z.literal(1)], {
  error: 'role must be ROLE_USER for messages sent to the gateway',
});

export const v1Message = z
  .object({
    messageId: identifier('messageId').min(1, 'messageId is required'),
    role,
    parts: z.array(part).min(1, 'a message needs at least one part').max(32),
    contextId: identifier('contextId').min(1).optional(),
    taskId: identifier('taskId').min(1).optional(),
    metadata: metadata.optional(),
    extensions: uriList('extensions').optional(),
    referenceTaskIds: identifierList('referenceTaskIds').optional(),
  })
  .transform(
    (value): Message => ({
      messageId: value.messageId,
      role: 'user',
      parts: value.parts,
      ...(value.contextId ? { contextId: value.contextId } : {}),
      ...(value.taskId ? { taskId: value.taskId } : {}),
      ...(value.metadata ? { metadata: value.metadata } : {}),
    }),
  );

const tenant = identifier('tenant').optional();

const historyLength = z.number().int().min(0).max(1000).optional();

export const v1SendParams = z.object({
  tenant,
  message: v1Message,
  configuration: z
    .object({
      acceptedOutputModes: identifierList('acceptedOutputModes').optional(),
      historyLength,
      returnImmediately: z.boolean().optional(),
      taskPushNotificationConfig: z.lazy(() => v1PushConfig).optional(),
    })
    .optional(),
  metadata: metadata.optional(),
});

/** A2A 1.0 TaskPushNotificationConfig (flat: url and token next to the ids; AuthenticationInfo has one scheme). */
export const v1PushConfig = z.object({
  tenant,
  id: identifier('id').optional(),
  taskId: identifier('taskId').optional(),
  url: z.string(),
  token: z.string().max(500).optional(),
  authentication: z.object({ scheme: pushAuthScheme, credentials: pushCredentials.optional() }).optional(),
});

export const v1PushConfigRef = z.object({ tenant, taskId: identifier('taskId'), id: identifier('id') });

export const v1ListPushConfigsParams = z.object({
  tenant,
  taskId: identifier('taskId'),
  // bounded like ListTasks' page; a task holds at most 10 configs, so one page always has them all
  pageSize: z.number().int().min(1).max(100).optional(),
  pageToken: identifier('pageToken').optional(),
});

/** A stored config as 1.0 reads it: the token and the credentials are secrets and never leave again; the scheme does. */
export function renderV1PushConfig(config: PushConfig): Record<string, unknown> {
  return {
    id: config.id,
    taskId: config.taskId,
    url: config.url,
    ...(config.authScheme ? { authentication: { scheme: config.authScheme } } : {}),
  };
}

export const v1GetTaskParams = z.object({ tenant, id: identifier('id'), historyLength });

export const v1CancelTaskParams = z.object({
  tenant,
  id: identifier('id'),
  metadata: metadata.optional(),
});

const WIRE_STATE: Record<TaskState, string> = {
  submitted: 'TASK_STATE_SUBMITTED',
  working: 'TASK_STATE_WORKING',
  'input-required': 'TASK_STATE_INPUT_REQUIRED',
  completed: 'TASK_STATE_COMPLETED',
  failed: 'TASK_STATE_FAILED',
  canceled: 'TASK_STATE_CANCELED',
  rejected: 'TASK_STATE_REJECTED',
};

const STATE_BY_WIRE = new Map(Object.entries(WIRE_STATE).map(([state, wire]) => [wire, state as TaskState]));

export const v1ListTasksParams = z.object({
  tenant,
  contextId: identifier('contextId').optional(),
  status: z
    .string()
    .refine((value) => STATE_BY_WIRE.has(value), { message: 'status must be a TASK_STATE_* name' })
    .transform((value) => STATE_BY_WIRE.get(value) as TaskState)
    .optional(),
  pageSize: z.number().int().min(1).max(100).optional(),
  pageToken: identifier('pageToken').optional(),
  historyLength,
  statusTimestampAfter: boundedInstant.transform((date) => date.toISOString()).optional(),
  includeArtifacts: z.boolean().optional(),
});

function renderPart(value: Part): Record<string, unknown> {
  const common = value.metadata ? { metadata: value.metadata } : {};
  switch (value.kind) {
    case 'text':
      return { text: value.text, ...common };
    case 'data':
      return { data: value.data, ...common };
    case 'file':
      return {
        ...('url' in value.file ? { url: value.file.url } : { raw: value.file.bytes }),
        ...(value.mediaType ? { mediaType: value.mediaType } : {}),
        ...(value.filename ? { filename: value.filename } : {}),
        ...common,
      };
  }
}

export function renderV1Message(message: Message): Record<string, unknown> {
  return {
    messageId: message.messageId,
    ...(message.contextId ? { contextId: message.contextId } : {}),
    ...(message.taskId ? { taskId: message.taskId } : {}),
    role: message.role === 'user' ? 'ROLE_USER' : 'ROLE_AGENT',
    parts: message.parts.map(renderPart),
    ...(message.metadata ? { metadata: message.metadata } : {}),
  };
}

function renderArtifact(artifact: Artifact): Record<string, unknown> {
  return {
    artifactId: artifact.artifactId,
    name: artifact.name,
    ...(artifact.description ? { description: artifact.description } : {}),
    parts: artifact.parts.map(renderPart),
  };
}

/** A task's A2A 1.0 TaskStatus: state, the message that explains it, when it was reached. */
function renderV1Status(task: TaskView): Record<string, unknown> {
  return {
    state: WIRE_STATE[task.state],
    ...(task.statusMessage ? { message: renderV1Message(task.statusMessage) } : {}),
    timestamp: task.timestamp,
  };
}

export function renderV1Task(task: TaskView, options: { includeArtifacts?: boolean } = {}): Record<string, unknown> {
  return {
    id: task.id,
    contextId: task.contextId,
    status: renderV1Status(task),
    ...(options.includeArtifacts !== false && task.artifacts.length > 0 ? { artifacts: task.artifacts.map(renderArtifact) } : {}),
    ...(task.history.length > 0 ? { history: task.history.map(renderV1Message) } : {}),
    metadata: task.metadata,
  };
}

/** A stream event as A2A 1.0 StreamResponse: one of task, statusUpdate, artifactUpdate. */
export function renderV1Event(event: TaskEvent): Record<string, unknown> {
  const { view } = event;
  if (event.kind === 'task') return { task: renderV1Task(view) };
  if (event.kind === 'artifact') {
    return { artifactUpdate: { taskId: view.id, contextId: view.contextId, artifact: renderArtifact(event.artifact), lastChunk: true } };
  }
  return {
    statusUpdate: {
      taskId: view.id,
      contextId: view.contextId,
      status: renderV1Status(view),
      metadata: view.metadata,
    },
  };
}
