import fc from 'fast-check';

/**
 * `items` in a random order that can be replayed: the seed is SHUFFLE_SEED when set, else a fresh
 * one, and is returned so the test can name it in its failure messages.
 */
export function seededShuffle<T>(items: readonly T[]): { shuffled: T[]; seed: number } {
  const seed = process.env.SHUFFLE_SEED ? Number(process.env.SHUFFLE_SEED) : Math.floor(Math.random() * 2 ** 31);
  const [shuffled] = fc.sample(fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length }), { seed, numRuns: 1 });
  return { shuffled: shuffled ?? [...items], seed };
}
