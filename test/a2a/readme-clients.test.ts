/**
 * The README's two SDK clients, run exactly as printed there (as their own Node processes) against
 * the gateway on a real port. The 0.3.x client's import names the package this repository installs
 * 0.3.x under (`a2a-sdk-v03`); nothing else is changed.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { getCreditAccount } from '../../src/billing/accounts.js';
import { REPO_ROOT } from '../helpers/built-gateway.js';
import { expectLedgerInvariant } from '../helpers/gateway.js';
import { useSeededGateway } from '../helpers/seeded-gateway.js';

const GENERATIONS = [
  { sdk: '1.x', state: 'TASK_STATE_COMPLETED', packageAs: '@a2a-js/sdk' },
  { sdk: '0.3.x', state: 'completed', packageAs: 'a2a-sdk-v03' },
] as const;

/** The README's ```js block that starts with `// client.mjs, @a2a-js/sdk <generation>`. */
async function readmeClient(sdk: string): Promise<string> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((match) => match[1] as string);
  const found = blocks.filter((code) => code.startsWith(`// client.mjs, @a2a-js/sdk ${sdk}\n`));
  expect(found, `README has one client for @a2a-js/sdk ${sdk}`).toHaveLength(1);
  const code = found[0] as string;
  expect(code.trimEnd().split('\n').length, 'about ten lines').toBeLessThanOrEqual(12);
  return code;
}

describe("the README's SDK clients work as printed", () => {
  const suite = useSeededGateway({ listen: true });

  it.each(GENERATIONS)(
    '@a2a-js/sdk $sdk: finds the endpoint on the card, pays for getAgentProfile and prints the completed task',
    async ({ sdk, state, packageAs }) => {
      const code = (await readmeClient(sdk)).replaceAll("from '@a2a-js/sdk", `from '${packageAs}`);
      // inside the repository, so its node_modules resolve the SDK (test/artifacts is git-ignored)
      const folder = join(REPO_ROOT, 'test', 'artifacts');
      await mkdir(folder, { recursive: true });
      const file = join(folder, `readme-client-${sdk}-${process.pid}.mjs`);
      await writeFile(file, code);

      const org = await suite.gateway.createOrg({ credits: 1_000_000n });
      const { stdout } = await promisify(execFile)(process.execPath, [file], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', GW: suite.baseUrl, KEY: org.apiKey.key },
      }).finally(() => rm(file, { force: true }));
      const printed = stdout.trimEnd();
      expect(printed.slice(0, printed.indexOf(' '))).toBe(state);
      expect(JSON.parse(printed.slice(printed.indexOf(' ') + 1))).toMatchObject({ agent_id: 1, name: 'Demo Agent 1' });
      expect((await getCreditAccount(suite.gateway.database.db, org.orgId))?.balance).toBe(1_000_000n - 1_000n);
      await expectLedgerInvariant(suite.gateway);
    },
  );
});
