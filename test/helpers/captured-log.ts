import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/** One JSON line the logger wrote, with the fields tests look at. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A real pino logger at `level` whose lines a test can read back (`lines`), in order. */
export function capturedLog(level: pino.Level = 'info'): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { log: pino({ level }, sink), lines };
}
