import { CancellationScope, condition, isCancellation, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { rolloutStateQuery, supersedeRolloutSignal } from '../common/messages';
import { shortSha } from '../common/names';
import { RolloutStatus, type RolloutEntry, type RolloutInput, type RolloutMember, type RolloutState, type WaveRequest } from '../common/rollout';
import { DeploymentResult, SubmitOutcome } from '../common/types';

const { submitWave } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
  summary: 'submit a wave\'s desired states to its environment workflows',
});

// A wave waits as long as its deployments take (approvals included): each attempt waits up to an
// hour, heartbeating, and the next resumes from the ends it heartbeated.
const { watchWave } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '1 minute' },
  summary: 'wait for a wave\'s deployments to end',
});

/** A full commit SHA, as a supersede signal must carry. */
const SHA = /^[0-9a-f]{40}$/;

/**
 * The rollout of one push over `waves:` (id `cfn-gitops-rollout/<sha>`): submits each wave's
 * desired states to the environment workflows, whose locks and rules stay theirs, and starts a
 * wave only when every environment of the one before has Succeeded (after `bake`). A failure,
 * rejection, cancel or a refused submit halts the later waves: their environments end Halted,
 * never submitted, with the reason. A newer push's `supersede` signal halts the waves not
 * started yet and stops waiting for the running one (its deployments go on: the newer push's
 * desired states supersede them in the environment workflows).
 */
export async function rolloutWorkflow(input: RolloutInput): Promise<RolloutState> {
  const entries = input.waves.flatMap((members, index) =>
    members.map((member): RolloutEntry => ({
      environment: member.environment,
      action: member.action,
      wave: index + 1,
      status: member.desired ? RolloutStatus.Waiting : 'invalid',
      ...(member.error ? { message: member.error } : {}),
    })),
  );
  const entryOf = new Map(entries.map((entry) => [entry.environment, entry]));
  const state: RolloutState = { commit: input.commit, wave: 0, waves: input.waves.length, done: false, entries };
  let supersededBy: string | undefined;
  setHandler(rolloutStateQuery, () => state);
  setHandler(supersedeRolloutSignal, (request) => {
    if (typeof request?.by !== 'string' || !SHA.test(request.by)) {
      log.warn('supersede signal ignored: it names no commit', { request });
      return;
    }
    supersededBy ??= request.by;
  });
  const superseded = () => supersededBy !== undefined;
  const supersededReason = () => `superseded by push ${shortSha(supersededBy!)}`;

  for (const [index, members] of input.waves.entries()) {
    if (state.haltReason === undefined && superseded()) state.haltReason = supersededReason();
    if (state.haltReason !== undefined) {
      for (const member of members) halt(entryOf.get(member.environment)!, state.haltReason);
      continue;
    }
    state.wave = index + 1;
    log.info('wave starts', { wave: state.wave, of: state.waves, environments: members.map((m) => m.environment) });
    const ended = await runWave(members);
    if (ended === 'superseded') {
      state.haltReason = supersededReason();
      continue;
    }
    const failed = members.map((member) => entryOf.get(member.environment)!).find((entry) => entry.status !== DeploymentResult.Succeeded && entry.status !== SubmitOutcome.Expired);
    if (failed) {
      state.haltReason = `wave ${state.wave}: ${failed.environment}'s ${failed.action} of ${shortSha(input.commit)} ended ${failed.status}${failed.message ? `: ${failed.message}` : ''}`;
      log.warn('rollout halted', { reason: state.haltReason });
      continue;
    }
    if (input.bakeMs > 0 && index < input.waves.length - 1) await condition(superseded, input.bakeMs);
  }
  state.done = true;
  return state;

  /** Submits a wave and waits for its requests to end, or for a newer push. */
  async function runWave(members: RolloutMember[]): Promise<'ended' | 'superseded'> {
    const submittable = members.filter((member) => member.desired);
    const submits = submittable.length > 0 ? await submitWave({ members: submittable, ...(input.shared ? { shared: input.shared } : {}) }) : [];
    const requests: WaveRequest[] = [];
    for (const submit of submits) {
      const entry = entryOf.get(submit.environment)!;
      entry.message = submit.message;
      if (submit.outcome === SubmitOutcome.Accepted || submit.outcome === SubmitOutcome.Duplicate) {
        entry.status = RolloutStatus.Running;
        requests.push({ environment: entry.environment, commit: input.commit, action: entry.action });
      } else {
        entry.status = submit.outcome;
      }
    }
    if (requests.length === 0) return 'ended';
    const scope = new CancellationScope();
    const watching = scope.run(() => watchWave({ requests }));
    const first = await Promise.race([watching.then(() => 'ended' as const), condition(superseded).then(() => 'superseded' as const)]);
    if (first === 'superseded') {
      scope.cancel();
      await watching.catch((error: unknown) => {
        if (!isCancellation(error)) throw error;
      });
      for (const request of requests) entryOf.get(request.environment)!.message = `handed over to push ${shortSha(supersededBy!)}`;
      return 'superseded';
    }
    for (const end of await watching) {
      const entry = entryOf.get(end.environment)!;
      entry.status = end.result ?? 'error';
      entry.message = end.result ? end.message : `${entry.environment} holds no ${entry.action} of ${shortSha(input.commit)} any more`;
    }
    return 'ended';
  }
}

/** An environment of a wave that will not start: Halted, never submitted. */
function halt(entry: RolloutEntry, reason: string): void {
  entry.status = RolloutStatus.Halted;
  entry.message = reason;
}
