import type { Artifact, TaskView } from '../domain/task-model.js';
import { endsStream } from '../tasks/follow.js';

/** What a stream tells about a task, before each A2A generation renders it in its own shape. */
export type TaskEvent =
  | { kind: 'task'; view: TaskView }
  | { kind: 'status'; view: TaskView; final: boolean }
  | { kind: 'artifact'; view: TaskView; artifact: Artifact };

/**
 * The events of one task's stream: the task as first seen, then a status update for each change,
 * the artifact when it completes, and a final status update that ends the stream.
 */
export async function* taskEvents(first: TaskView, later: AsyncIterable<TaskView>): AsyncGenerator<TaskEvent> {
  yield { kind: 'task', view: first };
  let last = `${first.state}@${first.timestamp}`;
  if (endsStream(first.state)) {
    yield* closing(first);
    return;
  }
  for await (const view of later) {
    const version = `${view.state}@${view.timestamp}`;
    if (version === last) continue;
    last = version;
    if (endsStream(view.state)) {
      yield* closing(view);
      return;
    }
    yield { kind: 'status', view, final: false };
  }
}

function* closing(view: TaskView): Generator<TaskEvent> {
  for (const artifact of view.artifacts) yield { kind: 'artifact', view, artifact };
  yield { kind: 'status', view, final: true };
}
