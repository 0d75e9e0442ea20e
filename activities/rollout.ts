import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { mapLimit } from '../common/concurrency';
import { ORDER_CONFLICT, stateQuery, submitUpdate, WATCH_BUSY, watchRequestUpdate, WorkflowType } from '../common/messages';
import { environmentWorkflowId } from '../common/names';
import { withShared, type RolloutMember, type SharedDesired, type WaveEnd, type WaveRequest, type WaveSubmit } from '../common/rollout';
import { ENVIRONMENT } from '../common/search-attributes';
import { requestRecord } from '../common/sync';
import { WatchOutcome, type DeploymentResult, type WatchAnswer } from '../common/types';

/** Environments submitted or watched at once. */
const CONCURRENCY = 32;
/** How often a wave's watch heartbeats the requests ended so far. */
const HEARTBEAT_MS = 10_000;
/** How often a wave reads the state of an environment that has as many watches waiting as it allows. */
const BUSY_POLL_MS = 10_000;

/**
 * The rollout workflow's activities: a wave's desired states handed to the environment
 * workflows with their `submit` Update, and the wait for their end with `watchRequest`. One
 * activity per wave, not per environment, so a wave of 500 holds one slot while it waits.
 */
export function createRolloutActivities(deps: { temporal?: Client }) {
  const clientOf = (): Client => deps.temporal ?? Context.current().client;
  return {
    /**
     * Submits each member's desired state with update-with-start, compare-and-set on the push's
     * `before`. When the environment has taken another commit since, the rollout cannot check
     * ancestry (the worker has no git): it submits again without `follows`, and the workflow
     * compares the commits' generations along main, as it does for signals.
     */
    async submitWave(input: { members: RolloutMember[]; shared?: SharedDesired }): Promise<WaveSubmit[]> {
      const client = clientOf();
      const taskQueue = Context.current().info.taskQueue;
      return mapLimit(input.members, CONCURRENCY, async (member): Promise<WaveSubmit> => {
        const desired = withShared(member.desired!, input.shared);
        const workflowId = environmentWorkflowId(member.environment);
        const send = (follows: string | null | undefined) =>
          client.workflow.executeUpdateWithStart(submitUpdate, {
            args: [follows === undefined ? { ...desired } : { ...desired, follows }],
            startWorkflowOperation: new WithStartWorkflowOperation(WorkflowType.Environment, {
              workflowId,
              taskQueue,
              args: [{ environment: member.environment }],
              workflowIdConflictPolicy: 'USE_EXISTING',
              typedSearchAttributes: [{ key: ENVIRONMENT, value: member.environment }],
              staticSummary: `environment ${member.environment}`,
              staticDetails: `Environment workflow of **${member.environment}**: takes desired states from git main and runs one deployment at a time.`,
            }),
          });
        try {
          let result;
          try {
            result = await send(member.follows);
          } catch (error) {
            if (!isOrderConflict(error)) throw error;
            result = await send(undefined);
          }
          return { environment: member.environment, outcome: result.outcome, message: result.message };
        } catch (error) {
          const cause = error instanceof WorkflowUpdateFailedError && error.cause ? `: ${error.cause.message}` : '';
          return { environment: member.environment, outcome: 'error', message: `${member.environment}: could not submit to ${workflowId}: ${(error as Error).message}${cause}` };
        }
      });
    },

    /**
     * Waits until every request of a wave has ended, on the environment workflows' watch Update
     * (answered at the end, so nothing is asked while a deployment runs). Heartbeats the ends
     * known so far; a retry (the worker restarted, or the attempt's time ran out) resumes from them.
     */
    async watchWave(input: { requests: WaveRequest[] }): Promise<WaveEnd[]> {
      const context = Context.current();
      const client = clientOf();
      const known = new Map<string, WaveEnd>(((context.info.heartbeatDetails as { ended?: WaveEnd[] } | undefined)?.ended ?? []).map((end) => [end.environment, end]));
      const beat = () => context.heartbeat({ ended: [...known.values()] });
      const timer = setInterval(beat, HEARTBEAT_MS);
      try {
        // The Update calls do not take the cancellation signal: a cancel (the rollout superseded, the
        // worker shutting down) ends the wait here, and a retry resumes from the heartbeated ends.
        const waiting = mapLimit(
          input.requests.filter((request) => !known.has(request.environment)),
          input.requests.length || 1,
          async (request) => {
            const handle = client.workflow.getHandle(environmentWorkflowId(request.environment));
            const end = (result: DeploymentResult | undefined, message: string | undefined) => {
              known.set(request.environment, { environment: request.environment, result, message });
              beat();
            };
            for (;;) {
              let answer: WatchAnswer;
              try {
                answer = await handle.executeUpdate(watchRequestUpdate, { args: [{ commit: request.commit, action: request.action }] });
              } catch (error) {
                if (!isBusy(error)) throw error;
                // As many watches wait there as it allows: its state, read now and then, tells the end.
                const record = requestRecord(await handle.query(stateQuery), request);
                if (!record || record.result) return end(record?.result, record?.message);
                await new Promise((resolve) => setTimeout(resolve, BUSY_POLL_MS));
                continue;
              }
              if (answer.outcome === WatchOutcome.Ended || answer.outcome === WatchOutcome.Unknown) return end(answer.result, answer.message);
              // continuing: the run continues as new; the next one answers.
            }
          },
        );
        waiting.catch(() => undefined);
        await Promise.race([waiting, context.cancelled]);
      } finally {
        clearInterval(timer);
      }
      return input.requests.map((request) => known.get(request.environment)!);
    },
  };
}

/** Did the environment workflow refuse a watch because as many as it allows are waiting? */
function isBusy(error: unknown): boolean {
  return error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type === WATCH_BUSY;
}

/** Did the environment workflow refuse a submit because it has taken another commit since? */
function isOrderConflict(error: unknown): boolean {
  return error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type === ORDER_CONFLICT;
}
