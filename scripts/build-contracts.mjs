/**
 * Compiles contracts/*.sol with the solc npm package and writes contracts/build/<Name>.json
 * ({ abi, bytecode }), which are committed so tests need no compiler. Run after changing a contract:
 *   npm run contracts:build
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';

const dir = fileURLToPath(new URL('../contracts', import.meta.url));
const sources = Object.fromEntries(
  readdirSync(dir)
    .filter((name) => name.endsWith('.sol'))
    .map((name) => [name, { content: readFileSync(join(dir, name), 'utf8') }]),
);
const input = {
  language: 'Solidity',
  sources,
  settings: { optimizer: { enabled: true, runs: 200 }, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors ?? []).filter((error) => error.severity === 'error');
if (errors.length) {
  for (const error of errors) console.error(error.formattedMessage);
  process.exit(1);
}
mkdirSync(join(dir, 'build'), { recursive: true });
for (const [file, contracts] of Object.entries(output.contracts)) {
  for (const [name, artifact] of Object.entries(contracts)) {
    const json = {
      source: `contracts/${file}`,
      compiler: `solc ${solc.version()}`,
      abi: artifact.abi,
      bytecode: `0x${artifact.evm.bytecode.object}`,
    };
    writeFileSync(join(dir, 'build', `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
    console.log(`contracts/build/${name}.json`);
  }
}
