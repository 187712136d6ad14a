import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as esbuild from 'esbuild';

/** How a page's `<name>.client.ts` is compiled for the browser: here from source, in scripts/build.mjs for dist/ (keep the two alike). */
const BROWSER_BUILD = { bundle: true, format: 'iife', platform: 'browser', target: 'es2022', write: false } as const;

/**
 * A page's browser script, to inline in its HTML: `<name>.client.js` beside this module when the
 * gateway runs from dist/ (scripts/build.mjs compiled it), else compiled now from `<name>.client.ts`
 * (tests, tsx), so both run the very script `tsc` checked.
 */
export function clientScript(name: string): string {
  const built = new URL(`./${name}.client.js`, import.meta.url);
  const script = existsSync(built) ? readFileSync(built, 'utf8') : compile(new URL(`./${name}.client.ts`, import.meta.url));
  // Inlined in a <script> element, which the first "</script" would end.
  if (/<\/script/i.test(script)) throw new Error(`${name}.client.ts holds "</script", which cannot be inlined`);
  return script;
}

function compile(source: URL): string {
  // Loaded only here: a gateway run from dist/ never starts esbuild.
  const { buildSync } = createRequire(import.meta.url)('esbuild') as typeof esbuild;
  const [output] = buildSync({ ...BROWSER_BUILD, entryPoints: [fileURLToPath(source)] }).outputFiles ?? [];
  if (!output) throw new Error(`esbuild wrote nothing for ${source}`);
  return output.text;
}
