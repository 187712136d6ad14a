import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The real gateway as `npm start` runs it: src/ built to dist/ by scripts/build.mjs (atomic, so
 * suites building at the same moment are safe), then `node dist/src/main.js` as its own process.
 */

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Set once this test file's build is done: dist/ left by an earlier run may be older than src/. */
let built = false;

export async function buildGateway(): Promise<void> {
  await promisify(execFile)(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT });
  built = true;
}

/**
 * The built program of a source entry (src/main.ts → dist/src/main.js), for a suite that called
 * buildGateway() first: a child on plain Node starts several times faster than under tsx, which
 * compiles the whole import graph again in every process.
 */
export function builtEntry(source: string): string {
  if (!built) throw new Error(`${source}: call buildGateway() (in beforeAll) before running its build`);
  return source.replace(/^src\/(.+)\.ts$/, 'dist/src/$1.js');
}

export interface BuiltGateway {
  readonly child: ChildProcess;
  /** everything written so far: stdout is the JSON log stream, stderr the banner and start errors */
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** resolves once stderr matches `pattern`; rejects (with both streams) if the process exits first */
  stderrMatching(pattern: RegExp): Promise<RegExpMatchArray>;
  /** the exit code, once the process has ended */
  exited: Promise<number | null>;
  /** SIGTERM, then the exit code */
  stop(): Promise<number | null>;
}

/** Children still running when the test process exits (a crash, a timeout) are killed with it. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts the built gateway with exactly `env` (plus PATH), in the repository's folder. */
export function startBuiltGateway(env: Record<string, string>): BuiltGateway {
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let stdout = '';
  let stderr = '';
  const waiting = new Set<() => void>();
  const onOutput = () => {
    for (const check of waiting) check();
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    onOutput();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    onOutput();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      resolve(code);
      onOutput();
    }),
  );
  let ended = false;
  void exited.then(() => {
    ended = true;
    live.delete(child);
  });

  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    stderrMatching: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = stderr.match(pattern);
          if (match) {
            waiting.delete(check);
            resolve(match);
          } else if (ended) {
            waiting.delete(check);
            reject(new Error(`the gateway exited before its stderr matched ${pattern}\nstderr:\n${stderr}\nstdout:\n${stdout}`));
          }
        };
        waiting.add(check);
        void exited.then(check);
        check();
      }),
    stop: async () => {
      if (!ended) child.kill('SIGTERM');
      return exited;
    },
  };
}
