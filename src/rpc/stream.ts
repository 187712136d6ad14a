import type { RpcId } from './envelope.js';

/** What a streaming method answers: its results one by one, sent as Server-Sent Events. */
export class EventStreamResult {
  constructor(readonly events: AsyncIterable<unknown>) {}
}

/** A request answered with a stream: each event is sent as `{"jsonrpc":"2.0","id":<id>,"result":<event>}`. */
export interface StreamedAnswer {
  readonly kind: 'stream';
  readonly id: RpcId;
  readonly events: AsyncIterable<unknown>;
}

export function isStreamedAnswer(value: unknown): value is StreamedAnswer {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'stream';
}
