import { Context } from '@temporalio/activity';

/** How a waiting activity polls: fast first, then slower, so short operations are seen at once and long ones cost few calls. */
export interface PollTiming {
  /** First delay between polls. */
  minMs: number;
  /** Longest delay between polls. */
  maxMs: number;
}

/** Growth of the delay between polls. */
const BACKOFF = 1.6;

/**
 * Calls `check` until it returns a value, heartbeating between polls. A retried attempt
 * resumes its count (and so its delay) from the last heartbeat; the sleep ends early when
 * the activity is cancelled, and the cancellation is rethrown.
 */
export async function pollUntil<T>(timing: PollTiming, check: () => Promise<T | undefined>): Promise<T> {
  const context = Context.current();
  const resumed = context.info.heartbeatDetails as { polls?: number } | undefined;
  let polls = resumed?.polls ?? 0;
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    polls += 1;
    context.heartbeat({ polls });
    const delay = Math.min(timing.maxMs, timing.minMs * BACKOFF ** Math.min(polls - 1, 30));
    await context.sleep(delay);
  }
}
