import { z } from 'zod';
import { taskState } from '../../drizzle/schema.js';

/**
 * The gateway's own shapes for messages and tasks. Both A2A wire versions are mapped onto these
 * (a2a/v1.ts, a2a/v03.ts) and rendered back from them, so the task lifecycle never sees a wire format.
 */
export const MetadataSchema = z.record(z.string(), z.unknown());
export type Metadata = z.output<typeof MetadataSchema>;

export const PartSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: z.string(), metadata: MetadataSchema.optional() }),
  z.object({ kind: z.literal('data'), data: z.unknown(), metadata: MetadataSchema.optional() }),
  z.object({
    kind: z.literal('file'),
    /** a URL, or base64 bytes */
    file: z.union([z.object({ url: z.string() }), z.object({ bytes: z.string() })]),
    mediaType: z.string().optional(),
    filename: z.string().optional(),
    metadata: MetadataSchema.optional(),
  }),
]);
export type Part = z.output<typeof PartSchema>;

export const RoleSchema = z.enum(['user', 'agent']);
export type Role = z.output<typeof RoleSchema>;

/** A message as the gateway keeps it (a task's history is stored as these, in jsonb). */
export const MessageSchema = z.object({
  messageId: z.string(),
  role: RoleSchema,
  parts: z.array(PartSchema),
  contextId: z.string().optional(),
  taskId: z.string().optional(),
  metadata: MetadataSchema.optional(),
  referenceTaskIds: z.array(z.string()).optional(),
});
export type Message = z.output<typeof MessageSchema>;

/**
 * `message` placed in task `taskId` of context `contextId`, as a task's history keeps it. Member by
 * member, not spread: the paid path spreads nothing it can name (see tasks/instant-call.ts).
 */
export function placedIn(message: Message, taskId: string, contextId: string): Message {
  const placed: Message = { messageId: message.messageId, role: message.role, parts: message.parts, contextId, taskId };
  if (message.metadata !== undefined) placed.metadata = message.metadata;
  if (message.referenceTaskIds !== undefined) placed.referenceTaskIds = message.referenceTaskIds;
  return placed;
}

/** the database's task_state enum, so a state cannot be added in one place and missed in the other */
export const TASK_STATES = taskState.enumValues;

export const TaskStateSchema = z.enum(TASK_STATES);
export type TaskState = z.output<typeof TaskStateSchema>;

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(['completed', 'failed', 'canceled', 'rejected']);

export interface Artifact {
  artifactId: string;
  name: string;
  description?: string;
  parts: Part[];
}

/** What the gateway tells about a task's call and its price, in every generation's task metadata. */
export interface TaskMetadata {
  tool?: string;
  tool_version?: string;
  /** the version called is deprecated: which to move to */
  deprecation?: string;
  cost_micro_usdc: string;
  cost_display: string;
  charged: boolean;
  duration_ms?: number;
}

export interface TaskView {
  id: string;
  contextId: string;
  state: TaskState;
  /** ISO-8601 time of the last state change */
  timestamp: string;
  statusMessage?: Message;
  artifacts: Artifact[];
  history: Message[];
  metadata: TaskMetadata;
}
