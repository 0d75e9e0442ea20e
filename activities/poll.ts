import { ApplicationFailure, Context } from '@temporalio/activity';
import { ApplicationFailureCategory } from '@temporalio/common';
import { WAITING } from '../common/errors';

/** How a waiting activity polls: fast first, then slower, so short operations are seen at once and long ones cost few calls. */
export interface PollTiming {
  /** First delay between polls. */
  minMs: number;
  /** Longest delay between polls. */
  maxMs: number;
}

/**
 * Growth of the delay between polls: doubling, so that the time waited so far is about the next
 * delay. A wait of T seconds then costs about log2(T / min) polls until the delays reach the
 * longest, and one per longest delay after (5 s and 2 min: 9 polls for a 10-minute pipeline).
 */
export const BACKOFF = 2;

/**
 * Longest time without a heartbeat, whatever the delay between polls: the workflow's heartbeat
 * timeout (a few seconds, so a crashed worker's wait is retried soon) must not depend on
 * CFN_GITOPS_POLL_MAX. The SDK throttles what it sends to the server, so this costs nothing.
 */
export const HEARTBEAT_EVERY_MS = 2_000;

/** The delay before poll number `polls + 1`. */
function delayAfter(timing: PollTiming, polls: number): number {
  return Math.min(timing.maxMs, timing.minMs * BACKOFF ** Math.min(Math.max(polls - 1, 0), 30));
}

/** How a wait spends the time between its polls. */
export interface WaitMode {
  /**
   * One poll per activity attempt: while not done, the attempt fails with the retryable
   * {@link WAITING} type and the next poll's delay as its next-retry delay, so the wait holds no
   * worker slot while it sleeps and its history gains no event per poll. Without it (histories
   * recorded before), the attempt polls and sleeps in place, heartbeating.
   */
  betweenAttempts?: boolean;
}

/**
 * Calls `check` until it returns a value. Between attempts (see {@link WaitMode}) or in place,
 * heartbeating between polls: a retried attempt then resumes its count (and so its delay) from
 * the last heartbeat; the sleep ends early when the activity is cancelled, and the
 * cancellation is rethrown.
 */
export async function pollUntil<T>(timing: PollTiming, check: () => Promise<T | undefined>, mode: WaitMode = {}): Promise<T> {
  const context = Context.current();
  if (mode.betweenAttempts) {
    const result = await check();
    if (result !== undefined) return result;
    const delay = Math.round(delayAfter(timing, context.info.attempt));
    // Benign: a poll that finds the operation running is not a failure to log or count.
    throw ApplicationFailure.create({ type: WAITING, message: `not done yet; polling again in ${delay} ms`, nextRetryDelay: delay, category: ApplicationFailureCategory.BENIGN });
  }
  const resumed = context.info.heartbeatDetails as { polls?: number } | undefined;
  let polls = resumed?.polls ?? 0;
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    polls += 1;
    context.heartbeat({ polls });
    const delay = delayAfter(timing, polls);
    for (let slept = 0; slept < delay; slept += HEARTBEAT_EVERY_MS) {
      if (slept > 0) context.heartbeat({ polls });
      await context.sleep(Math.min(HEARTBEAT_EVERY_MS, delay - slept));
    }
  }
}
