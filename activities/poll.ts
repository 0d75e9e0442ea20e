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
 * Longest time without a heartbeat, whatever the delay between polls: the workflow's heartbeat
 * timeout (a few seconds, so a crashed worker's wait is retried soon) must not depend on
 * CFN_GITOPS_POLL_MAX. The SDK throttles what it sends to the server, so this costs nothing.
 */
export const HEARTBEAT_EVERY_MS = 2_000;

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
    for (let slept = 0; slept < delay; slept += HEARTBEAT_EVERY_MS) {
      if (slept > 0) context.heartbeat({ polls });
      await context.sleep(Math.min(HEARTBEAT_EVERY_MS, delay - slept));
    }
  }
}
