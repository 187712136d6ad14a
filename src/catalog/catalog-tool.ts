import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { z } from 'zod';
import type { ToolDefinition, ToolTier } from '../tools/types.js';
import type { CatalogVersion } from './live-catalog.js';
import { openSecret } from './secrets.js';
import { type CatalogToolView, sealContext, signingContext } from './store.js';
import { callUpstream } from './upstream.js';

/** What a catalog version needs from the gateway to be called. */
export interface CatalogCallSettings {
  /** opens the provider's headers and the name's signing key; without it no catalog tool can be called */
  secretsKey: Buffer | undefined;
  /** UPSTREAM_ALLOW_PRIVATE_NETWORKS */
  allowPrivateNetworks: boolean;
}

/**
 * One validator instance for every catalog schema. `addUsedSchema: false`: a schema's `$id` is not
 * registered, so two versions (or two tools) whose schemas share an `$id` never clash.
 */
const ajv = new Ajv2020({ strict: false, allErrors: true, addUsedSchema: false });

/** At most this many issues are told: a huge bad input stays a small answer (as domain/issues.ts). */
const MAX_ISSUES = 20;

/** `/a/0/b` as `a.0.b`, the path form describeIssues gives zod's issues. */
function pathOf(instancePath: string): (string | number)[] {
  return instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Compiles `schema` when first needed: a catalog of 10,000 tools compiles only the schemas that are called. */
function lazyValidator(schema: unknown): () => ValidateFunction {
  let validate: ValidateFunction | undefined;
  return () => {
    validate ??= ajv.compile(schema as object);
    return validate;
  };
}

/**
 * The arguments' check as a zod schema, so a catalog tool's arguments are read exactly where a
 * built-in tool's are (tasks/tool-call.ts) and refused with the same -32602 `invalid_arguments`.
 * The JSON Schema 2020-12 validator is Ajv, as at registration.
 */
function argumentsParams(schema: unknown) {
  const validator = lazyValidator(schema);
  return z.record(z.string(), z.unknown()).superRefine((args, ctx) => {
    const validate = validator();
    if (validate(args)) return;
    for (const error of (validate.errors ?? []).slice(0, MAX_ISSUES)) {
      ctx.addIssue({ code: 'custom', path: pathOf(error.instancePath), message: error.message ?? 'is not valid' });
    }
  });
}

function resultCheck(schema: unknown): ((answer: unknown) => string | undefined) | undefined {
  if (schema === null || schema === undefined) return undefined;
  const validator = lazyValidator(schema);
  return (answer) => {
    const validate = validator();
    if (validate(answer)) return undefined;
    return ajv.errorsText(validate.errors?.slice(0, MAX_ISSUES), { dataVar: 'result' });
  };
}

/** What a deprecated version's callers are told (with the task) and its listing says; undefined for any other version. */
export function deprecationNote(
  view: Pick<CatalogToolView, 'name' | 'version' | 'status'>,
  newest: string | undefined,
): string | undefined {
  if (view.status !== 'deprecated') return undefined;
  const { name, version: number } = view;
  return newest && newest !== number
    ? `${name} ${number} is deprecated; ${newest} is the newest active version`
    : `${name} ${number} is deprecated`;
}

/**
 * A catalog version as the call path sees every tool: its arguments checked against its
 * `argumentsSchema`, its run a signed POST to the upstream (upstream.ts) with the task's id, its
 * answer sold only when it is a 2xx JSON object that fits `resultSchema`. `newest` is the newest
 * active version of the name, told in a deprecated version's note.
 */
export function catalogToolDefinition(version: CatalogVersion, newest: string | undefined, settings: CatalogCallSettings): ToolDefinition {
  const { view } = version;
  const { secretsKey } = settings;
  const checkResult = resultCheck(view.resultSchema);
  let opened: { headers: Record<string, string>; signingKey: string } | undefined;
  const credentials = (key: Buffer) => {
    opened ??= {
      headers: version.upstreamHeadersSealed
        ? (JSON.parse(openSecret(key, version.upstreamHeadersSealed, sealContext(view.name, view.version))) as Record<string, string>)
        : {},
      signingKey: openSecret(key, version.signingSecretSealed, signingContext(view.name)),
    };
    return opened;
  };
  const note = deprecationNote(view, newest);
  return {
    name: view.name,
    version: view.version,
    tier: view.tier as ToolTier,
    costMicroUsdc: BigInt(view.priceMicroUsdc),
    settlement: view.settlement === 'hold' ? 'hold' : 'instant',
    description: view.description,
    params: argumentsParams(view.argumentsSchema),
    argumentsSchema: view.argumentsSchema as Record<string, unknown>,
    ...(view.resultSchema ? { resultSchema: view.resultSchema as Record<string, unknown> } : {}),
    tags: view.tags,
    runsUpstream: true,
    ...(view.providerOrgId ? { providerOrgId: view.providerOrgId } : {}),
    ...(note ? { deprecationNote: note } : {}),
    enabled: view.status !== 'retired' && secretsKey !== undefined,
    ...(secretsKey ? {} : { disabledReason: 'this gateway has no SECRETS_KEY to open the tool’s upstream credentials' }),
    timeoutMs: view.upstream.timeoutMs,
    example: {},
    execute: async (args, ctx) => {
      if (!secretsKey) throw new Error('catalog tool called without SECRETS_KEY');
      const { headers, signingKey } = credentials(secretsKey);
      return callUpstream({
        url: view.upstream.url,
        arguments: args as Record<string, unknown>,
        taskId: ctx.taskId,
        headers,
        signingKey,
        timeoutMs: view.upstream.timeoutMs,
        signal: ctx.signal,
        allowPrivateNetworks: settings.allowPrivateNetworks,
        ...(checkResult ? { checkResult } : {}),
      });
    },
  };
}
