import { z } from 'zod';
import type { Artifact, Message, Part, TaskView } from '../domain/task-model.js';
import type { PushConfig } from '../push/configs.js';
import { identifier, identifierList, uriList } from './identifiers.js';
import { pushAuthScheme, pushCredentials } from './push-authentication.js';
import type { TaskEvent } from './task-events.js';

/** A2A 0.3: `kind` discriminators on messages, parts, tasks; lower-case task states. */

const metadata = z.record(z.string(), z.unknown());

const part = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('text'), text: z.string(), metadata: metadata.optional() }),
    z.object({ kind: z.literal('data'), data: z.record(z.string(), z.unknown()), metadata: metadata.optional() }),
    z.object({
      kind: z.literal('file'),
      file: z.union([
        z.object({ uri: z.string(), mimeType: z.string().optional(), name: z.string().optional() }),
        z.object({ bytes: z.string(), mimeType: z.string().optional(), name: z.string().optional() }),
      ]),
      metadata: metadata.optional(),
    }),
  ],
  { error: 'unknown part kind: a part is {kind:"text"}, {kind:"data"} or {kind:"file"}' },
);

function toPart(value: z.output<typeof part>): Part {
  const common = value.metadata ? { metadata: value.metadata } : {};
  switch (value.kind) {
    case 'text':
      return { kind: 'text', text: value.text, ...common };
    case 'data':
      return { kind: 'data', data: value.data, ...common };
    case 'file':
      return {
        kind: 'file',
        file: 'uri' in value.file ? { url: value.file.uri } : { bytes: value.file.bytes },
        ...(value.file.mimeType ? { mediaType: value.file.mimeType } : {}),
        ...(value.file.name ? { filename: value.file.name } : {}),
        ...common,
      };
  }
}

export const v03Message = z
  .object({
    kind: z.literal('message').optional(),
    messageId: identifier('messageId').min(1, 'messageId is required'),
    role: z.literal('user', { error: 'role must be "user" for messages sent to the gateway' }),
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
      parts: value.parts.map(toPart),
      ...(value.contextId ? { contextId: value.contextId } : {}),
      ...(value.taskId ? { taskId: value.taskId } : {}),
      ...(value.metadata ? { metadata: value.metadata } : {}),
    }),
  );

const historyLength = z.number().int().min(0).max(1000).optional();

export const v03SendParams = z.object({
  message: v03Message,
  configuration: z
    .object({
      acceptedOutputModes: identifierList('acceptedOutputModes').optional(),
      historyLength,
      blocking: z.boolean().optional(),
      pushNotificationConfig: z.lazy(() => v03PushConfig).optional(),
    })
    .optional(),
  metadata: metadata.optional(),
});

/**
 * A2A 0.3 PushNotificationConfig. Its PushNotificationAuthenticationInfo lists `schemes`; a
 * delivery can carry one, the first.
 */
export const v03PushConfig = z
  .object({
    id: identifier('id').optional(),
    url: z.string(),
    token: z.string().max(500).optional(),
    authentication: z
      .object({
        schemes: z.array(pushAuthScheme).min(1, 'authentication.schemes names at least one scheme').max(8),
        credentials: pushCredentials.optional(),
      })
      .optional(),
  })
  .transform(({ authentication, ...config }) => ({
    ...config,
    ...(authentication ? { authentication: { scheme: authentication.schemes[0] as string, credentials: authentication.credentials } } : {}),
  }));

export const v03SetPushParams = z.object({ taskId: identifier('taskId'), pushNotificationConfig: v03PushConfig });
export const v03PushRefParams = z.object({
  id: identifier('id'),
  pushNotificationConfigId: identifier('pushNotificationConfigId').optional(),
  metadata: metadata.optional(),
});
export const v03DeletePushParams = z.object({
  id: identifier('id'),
  pushNotificationConfigId: identifier('pushNotificationConfigId'),
  metadata: metadata.optional(),
});

/** A stored config as 0.3 reads it: the token and the credentials are secrets and never leave again; the scheme does. */
export function renderV03PushConfig(config: PushConfig): Record<string, unknown> {
  return {
    taskId: config.taskId,
    pushNotificationConfig: {
      id: config.id,
      url: config.url,
      ...(config.authScheme ? { authentication: { schemes: [config.authScheme] } } : {}),
    },
  };
}

export const v03TaskIdParams = z.object({ id: identifier('id'), historyLength, metadata: metadata.optional() });

function renderPart(value: Part): Record<string, unknown> {
  const common = value.metadata ? { metadata: value.metadata } : {};
  switch (value.kind) {
    case 'text':
      return { kind: 'text', text: value.text, ...common };
    case 'data':
      return { kind: 'data', data: value.data, ...common };
    case 'file':
      return {
        kind: 'file',
        file: {
          ...('url' in value.file ? { uri: value.file.url } : { bytes: value.file.bytes }),
          ...(value.mediaType ? { mimeType: value.mediaType } : {}),
          ...(value.filename ? { name: value.filename } : {}),
        },
        ...common,
      };
  }
}

export function renderV03Message(message: Message): Record<string, unknown> {
  return {
    kind: 'message',
    messageId: message.messageId,
    role: message.role,
    parts: message.parts.map(renderPart),
    ...(message.contextId ? { contextId: message.contextId } : {}),
    ...(message.taskId ? { taskId: message.taskId } : {}),
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

/** A task's A2A 0.3 TaskStatus: state, the message that explains it, when it was reached. */
function renderV03Status(task: TaskView): Record<string, unknown> {
  return {
    state: task.state,
    ...(task.statusMessage ? { message: renderV03Message(task.statusMessage) } : {}),
    timestamp: task.timestamp,
  };
}

export function renderV03Task(task: TaskView): Record<string, unknown> {
  return {
    kind: 'task',
    id: task.id,
    contextId: task.contextId,
    status: renderV03Status(task),
    ...(task.artifacts.length > 0 ? { artifacts: task.artifacts.map(renderArtifact) } : {}),
    ...(task.history.length > 0 ? { history: task.history.map(renderV03Message) } : {}),
    metadata: task.metadata,
  };
}

/** A stream event in A2A 0.3 shapes: the task, or a status-update / artifact-update (`final` on the last). */
export function renderV03Event(event: TaskEvent): Record<string, unknown> {
  const { view } = event;
  if (event.kind === 'task') return renderV03Task(view);
  if (event.kind === 'artifact') {
    return {
      kind: 'artifact-update',
      taskId: view.id,
      contextId: view.contextId,
      artifact: renderArtifact(event.artifact),
      lastChunk: true,
    };
  }
  return {
    kind: 'status-update',
    taskId: view.id,
    contextId: view.contextId,
    status: renderV03Status(view),
    final: event.final,
    metadata: view.metadata,
  };
}
