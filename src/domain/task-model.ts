import { taskState } from '../../drizzle/schema.js';

/**
 * The gateway's own shapes for messages and tasks. Both A2A wire versions are mapped onto these
 * (a2a/v1.ts, a2a/v03.ts) and rendered back from them, so the task lifecycle never sees a wire format.
 */
export type Metadata = Record<string, unknown>;

export type Part =
  | { kind: 'text'; text: string; metadata?: Metadata }
  | { kind: 'data'; data: unknown; metadata?: Metadata }
  | {
      kind: 'file';
      /** a URL, or base64 bytes */
      file: { url: string } | { bytes: string };
      mediaType?: string;
      filename?: string;
      metadata?: Metadata;
    };

export type Role = 'user' | 'agent';

export interface Message {
  messageId: string;
  role: Role;
  parts: Part[];
  contextId?: string;
  taskId?: string;
  metadata?: Metadata;
  referenceTaskIds?: string[];
}

/** the database's task_state enum, so a state cannot be added in one place and missed in the other */
export const TASK_STATES = taskState.enumValues;

export type TaskState = (typeof TASK_STATES)[number];

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
