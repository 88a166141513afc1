/**
 * Runs tasks `concurrency` at a time and hands their results over in item order.
 *
 * A plain "window of N in order" stalls: when the oldest task is slow, finished ones behind
 * it hold their slots until it is done (ssr inject: a valid candidate takes ~8 s, a rejected
 * one under 1 s, so a slot sat idle most of the time behind a valid one). Here a slot frees
 * when its task settles; finished results wait (at most `window` started and not yet handed
 * over) until every earlier one is handed over, so what is kept never depends on which task
 * finished first.
 */
export interface OrderedWindowOptions {
  /** Tasks running at once. */
  concurrency: number;
  /** Tasks started and not yet handed over, at most (at least `concurrency`). */
  window: number;
  /** Checked before each start: true stops starting new tasks (those started still finish). */
  stopStarting?: () => boolean;
}

/**
 * Calls `start` for items in order and `handOver` with each result in item order. Stops
 * starting when `stopStarting` says so (started tasks are still handed over) and stops
 * altogether when `handOver` returns true; returns how many results were handed over and the
 * tasks started but not handed over (still to settle). A task that rejects rejects the call.
 */
export async function runOrderedWindow<T, R>(
  items: readonly T[],
  start: (item: T, index: number) => Promise<R>,
  handOver: (result: R, index: number) => boolean | undefined,
  opts: OrderedWindowOptions,
): Promise<{ handedOver: number; leftOver: Promise<R>[] }> {
  const concurrency = Math.max(1, opts.concurrency);
  const window = Math.max(concurrency, opts.window);
  const started: Promise<R>[] = [];
  let running = 0;
  let head = 0;
  let done = false;
  const fill = () => {
    while (
      !done &&
      !opts.stopStarting?.() &&
      started.length < items.length &&
      running < concurrency &&
      started.length - head < window
    ) {
      const index = started.length;
      running++;
      const task = start(items[index]!, index);
      const settled = () => {
        running--;
        // After this turn's hand-over: the result may be the one that says to stop.
        setImmediate(fill);
      };
      task.then(settled, settled);
      started.push(task);
    }
  };
  try {
    fill();
    while (head < started.length) {
      const result = await started[head]!;
      if (handOver(result, head++)) break;
      fill();
    }
  } finally {
    // Also when a task rejected: a task settling later must not start another.
    done = true;
  }
  return { handedOver: head, leftOver: started.slice(head) };
}
