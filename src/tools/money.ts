/** 1 USDC = 1,000,000 micro-USDC. */
export const MICRO_PER_USDC = 1_000_000n;

/** "0.01 USDC" from 10_000n: exact, no float on the way, trailing zeros trimmed to at least 2 places. */
export function displayUsdc(micro: bigint): string {
  const sign = micro < 0n ? '-' : '';
  const abs = micro < 0n ? -micro : micro;
  const whole = abs / MICRO_PER_USDC;
  const fraction = (abs % MICRO_PER_USDC).toString().padStart(6, '0').replace(/0+$/, '').padEnd(2, '0');
  return `${sign}${whole}.${fraction} USDC`;
}
