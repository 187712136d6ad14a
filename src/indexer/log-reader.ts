import type { Logger } from 'pino';
import { type Address, formatLog, type Hex, type Log, numberToHex, type PublicClient, type RpcLog } from 'viem';

/** What an RPC provider's refusal of an eth_getLogs call means for the caller. */
type RefusalKind = 'range_too_large' | 'rate_limited' | 'other';

const RATE_LIMITED =
  /rate.?limit|too many requests|requests? (per|limit)|exceeded .*(capacity|compute units|throughput|quota)|daily request count/i;
const RANGE_TOO_LARGE =
  /block range|range (is )?too (large|wide|big)|too (large|wide|big) (a )?(block )?range|more than \d+ (results|logs)|response size (exceeded|is larger)|query returned more than|limited to (a )?\d+|exceed(s|ed)? (the )?max(imum)? (block )?range|max(imum)? block range|log response size|too many (results|logs)/i;

/** Classifies a failed eth_getLogs by the messages and statuses along the error's cause chain. */
function refusalKind(error: unknown): RefusalKind {
  const texts: string[] = [];
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const fields = current as Error & { status?: number; details?: string; shortMessage?: string };
    if (fields.status === 429) return 'rate_limited';
    // viem's own cap on an answer's size (10 MB): a range whose logs are too many to carry.
    if (current.name === 'ResponseBodyTooLargeError') return 'range_too_large';
    texts.push(current.message, fields.details ?? '', fields.shortMessage ?? '');
  }
  const text = texts.join(' | ');
  if (RATE_LIMITED.test(text)) return 'rate_limited';
  if (RANGE_TOO_LARGE.test(text)) return 'range_too_large';
  return 'other';
}

/** A read returning more logs than this halves the next range: answers stay a few MB at most. */
const TARGET_LOGS = 5_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface LogReaderOptions {
  client: PublicClient;
  addresses: Address[];
  topics: Hex[];
  /** the widest block range asked for in one call, and where the reader starts */
  maxRange: bigint;
  log: Logger;
  /** tries on rate limits before the read fails (the next pass starts over) */
  rateLimitRetries?: number;
  backoffMs?: number;
}

/**
 * eth_getLogs over block ranges sized to what the provider accepts: a refusal for a range too large
 * (or an answer over viem's size cap) halves it, down to one block; a read of more than 5,000 logs
 * halves the next one; a rate limit waits with exponential backoff; after a run of successes the
 * range doubles back toward `maxRange`.
 */
export function createLogReader(options: LogReaderOptions) {
  let range = options.maxRange;
  let successes = 0;
  const retries = options.rateLimitRetries ?? 6;
  const backoffMs = options.backoffMs ?? 500;

  async function getLogs(from: bigint, to: bigint): Promise<Log<bigint, number, false>[]> {
    const raw = (await options.client.request({
      method: 'eth_getLogs',
      params: [{ address: options.addresses, topics: [options.topics], fromBlock: numberToHex(from), toBlock: numberToHex(to) }],
    })) as RpcLog[];
    return raw.map((entry) => formatLog(entry) as Log<bigint, number, false>);
  }

  return {
    /** the range the next read asks for */
    get range() {
      return range;
    },
    /** Reads the logs of [from, at most upTo]; answers the logs and the last block they cover. */
    async read(from: bigint, upTo: bigint): Promise<{ logs: Log<bigint, number, false>[]; to: bigint }> {
      for (let rateLimited = 0; ; ) {
        const to = from + range - 1n < upTo ? from + range - 1n : upTo;
        try {
          const logs = await getLogs(from, to);
          if (logs.length > TARGET_LOGS && to > from) {
            // Dense blocks: ask for fewer next time, before a provider refuses.
            range = (to - from + 1n) / 2n;
            successes = 0;
          } else if (++successes >= 5 && range < options.maxRange) {
            range = range * 2n < options.maxRange ? range * 2n : options.maxRange;
            successes = 0;
          }
          return { logs, to };
        } catch (error) {
          const kind = refusalKind(error);
          if (kind === 'range_too_large' && to > from) {
            range = (to - from + 1n) / 2n;
            successes = 0;
            options.log.info({ from: from.toString(), range: range.toString() }, 'eth_getLogs range too large; halving it');
            continue;
          }
          if (kind === 'rate_limited' && rateLimited < retries) {
            const wait = Math.min(backoffMs * 2 ** rateLimited++, 30_000);
            options.log.info({ waitMs: wait }, 'eth_getLogs rate limited; backing off');
            await sleep(wait);
            continue;
          }
          throw error;
        }
      }
    },
  };
}

export type LogReader = ReturnType<typeof createLogReader>;
