import { type Abi, type AbiEvent, type Address, decodeEventLog, type Hex, hexToString, type Log, toEventSelector } from 'viem';
import {
  identityEvents,
  identityEventsOctober2025,
  reputationEvents,
  reputationEvents110,
  reputationEventsOctober2025,
  validationEvents,
  validationEventsOctober2025,
} from './erc8004-abi.js';

/** Where an event sits on the chain: events apply in (block, log index) order. */
export interface LogPosition {
  blockNumber: bigint;
  logIndex: number;
  txHash: Hex;
}

/** One registry event, whichever contract version emitted it, in the shape the tables take. */
export type RegistryEvent = LogPosition &
  (
    | { kind: 'registered'; agentId: bigint; owner: Address; uri: string }
    | { kind: 'uri'; agentId: bigint; uri: string }
    | { kind: 'metadata'; agentId: bigint; key: string; value: Hex }
    | { kind: 'transfer'; agentId: bigint; from: Address; to: Address }
    | {
        kind: 'feedback';
        agentId: bigint;
        client: Address;
        /** null: the October 2025 event did not carry it; it is the client's next index for the agent */
        index: bigint | null;
        /** int128, as a decimal string: it can exceed a bigint column */
        value: string;
        valueDecimals: number;
        tag1: string;
        tag2: string;
        endpoint: string;
        feedbackUri: string;
        feedbackHash: Hex;
      }
    | { kind: 'revoke'; agentId: bigint; client: Address; index: bigint }
    | { kind: 'validation'; agentId: bigint; validator: Address; requestHash: Hex; response: number; tag: string }
  );

export type Registry = 'identity' | 'reputation' | 'validation';

/** An event without its position (Omit distributed over the union). */
type Decoded = RegistryEvent extends infer Event ? (Event extends RegistryEvent ? Omit<Event, keyof LogPosition> : never) : never;
type Args = Record<string, unknown>;

/** A bytes32 tag of the October 2025 contracts as text: UTF-8, trailing zero bytes dropped. */
const bytes32Text = (value: unknown) => hexToString(value as Hex, { size: 32 }).replace(/\0+$/, '');
const lower = (value: unknown) => (value as string).toLowerCase() as Address;

interface Variant {
  registry: Registry;
  abi: Abi;
  toEvent(args: Args): Decoded;
}

function variant(registry: Registry, abi: readonly AbiEvent[], name: string, toEvent: Variant['toEvent']): [Hex, Variant] {
  const item = abi.find((entry) => entry.name === name);
  if (!item) throw new Error(`no event ${name} in its ABI`);
  return [toEventSelector(item), { registry, abi: [item], toEvent }];
}

const feedbackFields = (args: Args) => ({
  kind: 'feedback' as const,
  agentId: args.agentId as bigint,
  client: lower(args.clientAddress),
  feedbackHash: args.feedbackHash as Hex,
});

/** The fields 2.0.0 and 1.1.0 share: the index, string tags, the endpoint and the URI. */
const stringTaggedFields = (args: Args) => ({
  index: args.feedbackIndex as bigint,
  tag1: args.tag1 as string,
  tag2: args.tag2 as string,
  endpoint: args.endpoint as string,
  feedbackUri: args.feedbackURI as string,
});

const validationFields = (args: Args, tag: string) => ({
  kind: 'validation' as const,
  agentId: args.agentId as bigint,
  validator: lower(args.validatorAddress),
  requestHash: args.requestHash as Hex,
  response: args.response as number,
  tag,
});

/** Every event the indexer knows, by topic0: the versions differ in their signature, so in their topic. */
const VARIANTS = new Map<Hex, Variant>([
  variant('identity', identityEvents, 'Registered', (args) => ({
    kind: 'registered',
    agentId: args.agentId as bigint,
    owner: lower(args.owner),
    uri: args.agentURI as string,
  })),
  variant('identity', identityEvents, 'URIUpdated', (args) => ({
    kind: 'uri',
    agentId: args.agentId as bigint,
    uri: args.newURI as string,
  })),
  variant('identity', identityEventsOctober2025, 'UriUpdated', (args) => ({
    kind: 'uri',
    agentId: args.agentId as bigint,
    uri: args.newUri as string,
  })),
  variant('identity', identityEvents, 'MetadataSet', (args) => ({
    kind: 'metadata',
    agentId: args.agentId as bigint,
    key: args.metadataKey as string,
    value: args.metadataValue as Hex,
  })),
  variant('identity', identityEvents, 'Transfer', (args) => ({
    kind: 'transfer',
    agentId: args.tokenId as bigint,
    from: lower(args.from),
    to: lower(args.to),
  })),
  variant('reputation', reputationEvents, 'NewFeedback', (args) => ({
    ...feedbackFields(args),
    ...stringTaggedFields(args),
    value: (args.value as bigint).toString(),
    valueDecimals: args.valueDecimals as number,
  })),
  variant('reputation', reputationEvents110, 'NewFeedback', (args) => ({
    ...feedbackFields(args),
    ...stringTaggedFields(args),
    value: String(args.score as number),
    valueDecimals: 0,
  })),
  variant('reputation', reputationEventsOctober2025, 'NewFeedback', (args) => ({
    ...feedbackFields(args),
    index: null,
    value: String(args.score as number),
    valueDecimals: 0,
    tag1: bytes32Text(args.tag1),
    tag2: bytes32Text(args.tag2),
    endpoint: '',
    feedbackUri: args.feedbackUri as string,
  })),
  variant('reputation', reputationEvents, 'FeedbackRevoked', (args) => ({
    kind: 'revoke',
    agentId: args.agentId as bigint,
    client: lower(args.clientAddress),
    index: args.feedbackIndex as bigint,
  })),
  variant('validation', validationEvents, 'ValidationResponse', (args) => validationFields(args, args.tag as string)),
  variant('validation', validationEventsOctober2025, 'ValidationResponse', (args) => validationFields(args, bytes32Text(args.tag))),
]);

/** The topics the indexer asks the RPC for: every known event of every version. */
export const KNOWN_TOPICS: Hex[] = [...VARIANTS.keys()];

export type DecodeOutcome = { event: RegistryEvent } | { skipped: 'unknown_topic' | 'wrong_registry' | 'undecodable' | 'mint' };

/**
 * Decodes one log of a registry into its event, by topic0 and only from the registry that emits it
 * (a Transfer of some other contract at the identity address's neighbour is not an agent's).
 */
export function decodeRegistryLog(log: Log<bigint, number, false>, registryOf: (address: Address) => Registry | undefined): DecodeOutcome {
  const topic = log.topics[0];
  const known = topic ? VARIANTS.get(topic) : undefined;
  if (!known) return { skipped: 'unknown_topic' };
  if (registryOf(lower(log.address)) !== known.registry) return { skipped: 'wrong_registry' };
  let args: Args;
  try {
    args = decodeEventLog({ abi: known.abi, data: log.data, topics: log.topics as [Hex, ...Hex[]], strict: true }).args as unknown as Args;
  } catch {
    return { skipped: 'undecodable' };
  }
  const decoded = known.toEvent(args);
  // A mint's Transfer comes with Registered, which says all of it.
  if (decoded.kind === 'transfer' && /^0x0{40}$/.test(decoded.from)) return { skipped: 'mint' };
  return { event: { ...decoded, blockNumber: log.blockNumber, logIndex: log.logIndex, txHash: log.transactionHash } as RegistryEvent };
}
