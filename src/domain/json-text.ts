import { randomBytes } from 'node:crypto';

/** Texts being spliced by the `stringifyJson` running now (JSON.stringify is synchronous, so one at a time). */
let splicing: string[] | undefined;

/**
 * Marks a spliced text's place in stringifyJson's output. JSON.stringify writes the NUL as
 * `\u0000`; the nonce, new in each process and never sent, keeps a caller's own string from
 * passing for a mark.
 */
const MARK = `\u0000json-text:${randomBytes(12).toString('hex')}:`;
const MARKED = new RegExp(`"${JSON.stringify(MARK).slice(1, -1).replaceAll('\\', '\\\\')}(\\d+)"`, 'g');

/**
 * JSON already written as text: a tool's answer built by PostgreSQL, or serialised once by the
 * tool. It travels to the task row and the response as text, not parsed into objects and
 * serialised again at each step (issue 18).
 */
export class JsonText {
  constructor(readonly text: string) {}

  /** Inside stringifyJson a mark for its text; anywhere else (plain JSON.stringify) the value itself. */
  toJSON(): unknown {
    if (splicing === undefined) return JSON.parse(this.text);
    splicing.push(this.text);
    return `${MARK}${splicing.length - 1}`;
  }
}

/** JSON.stringify, with each JsonText inside `value` written as its own text. */
export function stringifyJson(value: unknown): string {
  const outer = splicing;
  const texts: string[] = [];
  splicing = texts;
  let written: string;
  try {
    written = JSON.stringify(value);
  } finally {
    splicing = outer;
  }
  return texts.length === 0 ? written : written.replace(MARKED, (_, index: string) => texts[Number(index)] ?? 'null');
}

/** An object's JSON text from its members, in order: a JsonText member as its text, any other value serialised (undefined ones left out, as JSON.stringify does). */
export function jsonObject(members: Readonly<Record<string, unknown>>): JsonText {
  const written = Object.entries(members)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${JSON.stringify(name)}:${value instanceof JsonText ? value.text : stringifyJson(value)}`);
  return new JsonText(`{${written.join(',')}}`);
}
