/**
 * Compiles src/ and drizzle/ to plain JavaScript in dist/ (same layout) and copies migrations/ next
 * to them, so `npm start` runs on Node alone: a TypeScript loader in the serving process costs a
 * worker thread with its own heap (about 80 MB of RSS) and a hook on every import.
 * Each file is written to a temporary name and renamed into place, so a second `npm start` building
 * at the same moment never lets a gateway import a half-written file.
 */

import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'dist');

const typescriptIn = (dir, suffix = '.ts') =>
  readdirSync(join(root, dir), { recursive: true })
    .filter((name) => name.endsWith(suffix))
    .map((name) => join(root, dir, name));
/** Pages' browser scripts: compiled for the browser, one self-contained script each, which the page inlines. */
const isClientScript = (path) => path.endsWith('.client.ts');

function writeAtomically(path, contents) {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

const server = await build({
  entryPoints: [...typescriptIn('src'), ...typescriptIn('drizzle')].filter((path) => !isClientScript(path)),
  outbase: root,
  outdir,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  write: false,
  logLevel: 'warning',
});
// The same options as src/http/pages/client-script.ts, which compiles them when the gateway runs from source.
const browser = await build({
  entryPoints: typescriptIn('src', '.client.ts'),
  outbase: root,
  outdir,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  write: false,
  logLevel: 'warning',
});
for (const file of [...server.outputFiles, ...browser.outputFiles]) writeAtomically(file.path, file.contents);
for (const name of readdirSync(join(root, 'migrations'), { recursive: true, withFileTypes: true })) {
  if (!name.isFile()) continue;
  const source = join(name.parentPath ?? name.path, name.name);
  writeAtomically(join(outdir, 'migrations', relative(join(root, 'migrations'), source)), readFileSync(source));
}
