import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './loopback.js';

/** The machine's Redis (.ci/run starts it): shared by every suite, so each test keeps to keys of its own. */
export const MACHINE_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test, run or suite uses: parallel runs on one Redis never count each other's calls. */
export function uniqueKeyPrefix(): string {
  return `a2a-paygate-test:${randomUUID()}:`;
}

/**
 * A Redis of the test's own, on a free loopback port, that the test may stop, pause and start again
 * on the same port. Never the machine's: other sessions and suites rely on that one.
 */
export interface OwnRedis {
  readonly url: string;
  /** starts redis-server (again) on the same port; resolves once it accepts connections */
  start(): Promise<void>;
  /** SIGTERM and wait for the process to end: connections are refused from then on */
  stop(): Promise<void>;
  /** SIGSTOP: the port still accepts, nothing is answered (a Redis that hangs) */
  pause(): void;
  /** SIGCONT after pause() */
  resume(): void;
  /** stops it if running and removes its folder */
  dispose(): Promise<void>;
}

/** Children still running when the test process exits (a crash, a timeout) are killed with it. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'paygate-redis-'));
  let child: ChildProcess | undefined;

  const start = async () => {
    const started = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = started;
    live.add(started);
    started.once('exit', () => live.delete(started));
    let output = '';
    started.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    started.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    const deadline = Date.now() + 10_000;
    // Ready once a PING over a plain socket is answered.
    while (!(await answersPing(port))) {
      if (started.exitCode !== null || Date.now() > deadline) {
        throw new Error(`redis-server on port ${port} did not start (exit ${started.exitCode}):\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGCONT');
    running.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    dispose: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    const finish = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => finish(data.toString().startsWith('+PONG')));
  });
}
