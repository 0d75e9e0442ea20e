import fc from 'fast-check';
import { Action, DeployPhase, DeploymentResult, SubmitOutcome, WatchOutcome, type DesiredState, type PhaseStep } from '../../common/types';
import { EnvironmentController } from '../../workflows/environment-state';

/**
 * The environment's rules over random sequences of messages: one operation at a time, the
 * latest desired state wins, no going back (by generation, and by compare-and-set when the
 * starter says which commit it follows), and a change's people never approve it.
 */

const ENV = 'prod';
const sha = (n: number) => n.toString(16).padStart(40, '0');
const policy = { protected: true, approvalWindowMs: 60_000, allowSelfApproval: false, selfHeal: false };

function desired(n: number, action: Action, extra: Partial<DesiredState> = {}): DesiredState {
  return {
    environment: ENV,
    action,
    commit: { sha: sha(n), generation: n, author: { name: `Author ${n}`, email: `a${n}@example.com` }, committer: { name: 'Wes Writer', email: 'wes@example.com' }, message: `commit ${n}`, date: '2026-12-01T00:00:00Z' },
    reason: 'config changed',
    settings: { stackPrefix: 'cfn-gitops-', artifactBucket: 'bucket', protectedEnvironments: [] },
    ...(action === Action.Sync ? { config: { appVersion: `1.0.${n}`, parameters: {} }, templates: { pipeline: 'p', environment: 'e' } } : {}),
    repoProtected: false,
    pushedBy: 'Pat Pusher',
    ...extra,
  };
}

type Step =
  | { kind: 'submit'; commit: number; action: Action; cas: boolean }
  | { kind: 'start' }
  | { kind: 'approve'; by: string }
  | { kind: 'reject' }
  | { kind: 'cancel' }
  | { kind: 'finish'; result: DeploymentResult };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('submit' as const), commit: fc.integer({ min: 1, max: 12 }), action: fc.constantFrom(Action.Sync, Action.Sync, Action.Delete), cas: fc.boolean() }),
  fc.constant({ kind: 'start' as const }),
  fc.record({ kind: fc.constant('approve' as const), by: fc.constantFrom('Avery Approver', 'Wes Writer', 'pat pusher', 'Author 3', 'a5@example.com') }),
  fc.constant({ kind: 'reject' as const }),
  fc.constant({ kind: 'cancel' as const }),
  fc.record({ kind: fc.constant('finish' as const), result: fc.constantFrom(DeploymentResult.Succeeded, DeploymentResult.Failed, DeploymentResult.Cancelled) }),
);

describe('EnvironmentController over random message sequences', () => {
  it('runs one operation at a time, lets the latest win, never goes back and never lets the change\'s people approve', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        const env = new EnvironmentController(ENV);
        const now = new Date('2026-12-01T00:00:00Z');
        /** The newest commit taken, as the model sees it. */
        let newest: number | undefined;
        for (const s of steps) {
          switch (s.kind) {
            case 'submit': {
              // The starter itself refuses an older commit when it checks ancestry: nothing is submitted.
              if (s.cas && newest !== undefined && s.commit < newest) break;
              const pendingBefore = env.pending;
              // With compare-and-set the starter claims to follow the newest it read (here: the right one).
              const request = desired(s.commit, s.action, s.cas ? { follows: newest === undefined ? null : sha(newest) } : {});
              const result = env.submit(request, now);
              if (result.outcome === SubmitOutcome.Accepted) {
                // No going back: a taken commit is never older than the newest one taken before.
                if (newest !== undefined) expect(s.commit).toBeGreaterThanOrEqual(newest);
                newest = s.commit;
                // The latest wins: it is what runs next, and what waited before it is superseded.
                expect(env.pending?.request).toBe(request);
                if (pendingBefore) expect(pendingBefore.record.result).toBe(DeploymentResult.Superseded);
              } else if (result.outcome === SubmitOutcome.Stale) {
                expect(newest).toBeDefined();
                expect(s.commit).toBeLessThan(newest!);
              } else {
                expect(result.outcome).toBe(SubmitOutcome.Duplicate);
              }
              // A claim to follow a commit that is not the newest taken is a conflict, whatever its generation.
              if (newest !== undefined) expect(env.orderConflict(desired(99, Action.Sync, { follows: sha(0) }))).toBe(sha(newest));
              break;
            }
            case 'start':
              // One operation at a time: the workflow starts the next request only when nothing runs.
              if (env.current || !env.hasWork()) break;
              env.startNext(now);
              if (env.current!.request.action === Action.Sync) env.openApproval(policy, now);
              break;
            case 'approve': {
              if (!env.getState().approval) {
                expect(() => env.validateDecision('approve', { by: s.by })).toThrow(/nothing waits for approval/);
                break;
              }
              const own = ['Wes Writer', 'pat pusher'].includes(s.by) || s.by === env.current!.request.commit.author.name || s.by === env.current!.request.commit.author.email;
              if (own) {
                expect(() => env.validateDecision('approve', { by: s.by })).toThrow(/may not approve it/);
              } else {
                env.validateDecision('approve', { by: s.by });
                env.decide('approve', { by: s.by });
                env.closeApproval();
              }
              break;
            }
            case 'reject':
              if (env.getState().approval) env.finishCurrent(DeploymentResult.Rejected, 'rejected', now);
              break;
            case 'cancel':
              if (env.current) env.finishCurrent(DeploymentResult.Cancelled, 'cancelled', now);
              break;
            case 'finish':
              if (env.current && !env.getState().approval) env.finishCurrent(s.result, String(s.result), now);
              break;
          }
          // At most one request runs and at most one waits, and they are never the same.
          const state = env.getState();
          if (state.current && state.pending) expect(state.pending).not.toBe(state.current);
          expect(state.history.filter((r) => r.number > 0 && r.result === undefined).length).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('a watcher of one request (start --wait) over random message sequences', () => {
  type WatchStep = Step | { kind: 'phase'; phase: DeployPhase; execution?: string };
  const watchStep: fc.Arbitrary<WatchStep> = fc.oneof(
    step,
    fc.record({
      kind: fc.constant('phase' as const),
      phase: fc.constantFrom(DeployPhase.PublishingSource, DeployPhase.CreatingPipeline, DeployPhase.RunningPipeline, DeployPhase.StoppingPipeline),
      execution: fc.option(fc.constantFrom('exec-a', 'exec-b'), { nil: undefined }),
    }),
  );

  it('is told each phase of its request once and in order, then how it ended; a watcher of the end only at the end', () => {
    fc.assert(
      fc.property(fc.array(watchStep, { minLength: 1, maxLength: 60 }), (steps) => {
        const env = new EnvironmentController(ENV);
        const now = new Date('2026-12-01T00:00:00Z');
        expect(env.submit(desired(1, Action.Sync), now).outcome).toBe(SubmitOutcome.Accepted);
        const watch = { commit: sha(1), action: Action.Sync };
        /** The phases the watched request went through, as the steps set them. */
        const went: PhaseStep[] = [{ phase: DeployPhase.Queued }];
        const watchedRuns = () => env.current?.record.commit === sha(1);
        /** The watched request's execution, once one was given. */
        let execution: string | undefined;
        const enter = (phase: DeployPhase) => {
          if (watchedRuns() && went[went.length - 1]!.phase !== phase) went.push(execution ? { phase, pipelineExecutionId: execution } : { phase });
        };
        const seen: PhaseStep[] = [];
        let ended = false;
        for (const s of steps) {
          switch (s.kind) {
            case 'submit':
              // Later commits only: the watched request is superseded, or queued behind.
              env.submit(desired(s.commit + 1, s.action), now);
              break;
            case 'start':
              if (env.current || !env.hasWork()) break;
              env.startNext(now);
              if (env.current!.request.action === Action.Sync) {
                env.openApproval(policy, now);
                enter(DeployPhase.WaitingForApproval);
              }
              break;
            case 'approve':
              if (env.getState().approval) env.closeApproval();
              break;
            case 'phase':
              if (!env.current) break;
              // As the progress signal's handler does: the execution, then the phase it comes with.
              if (watchedRuns() && s.execution) execution = s.execution;
              env.setExecution(s.execution);
              enter(s.phase);
              env.setPhase(s.phase);
              break;
            case 'reject':
            case 'cancel':
            case 'finish':
              if (env.current) env.finishCurrent(s.kind === 'finish' ? s.result : DeploymentResult.Cancelled, s.kind, now);
              break;
          }
          // The watcher asks again after each answer: it has seen every phase so far, once each.
          const answer = env.watch({ ...watch, seenPhases: seen.length });
          const record = env.getState().history.find((r) => r.commit === sha(1)) ?? env.getState().pending;
          if (ended) {
            expect(answer).toMatchObject({ outcome: WatchOutcome.Ended, phases: [] });
            continue;
          }
          if (answer) seen.push(...answer.phases);
          expect(seen).toEqual(went.slice(0, seen.length));
          if (record?.result !== undefined) {
            expect(answer).toEqual({ outcome: WatchOutcome.Ended, phases: answer!.phases, result: record.result, message: record.message });
            ended = true;
          } else {
            expect(answer === undefined || answer.outcome === WatchOutcome.Phases).toBe(true);
          }
          expect(seen).toEqual(went);
          // Watching for the end only: nothing until there is one.
          expect(env.watch(watch)).toEqual(record?.result === undefined ? undefined : { outcome: WatchOutcome.Ended, phases: [], result: record.result, message: record.message });
        }
        expect(env.watch({ commit: sha(99), action: Action.Sync })).toEqual({ outcome: WatchOutcome.Unknown, phases: [] });
      }),
      { numRuns: 300 },
    );
  });
});
