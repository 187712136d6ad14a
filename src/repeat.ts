/**
 * Runs `pass` now, then again `intervalMs` after each pass ends (so two passes never overlap),
 * until stopped. A pass that throws is reported to `onError` and the next one runs as usual.
 * `stop()` resolves once the pass in progress, if any, has ended.
 */
export function repeat(
  pass: () => Promise<unknown>,
  options: { intervalMs: number; onError: (error: unknown) => void },
): () => Promise<void> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = pass()
      .catch(options.onError)
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs);
      });
  };
  tick();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
