import fc from 'fast-check';
import {
  countRows,
  filterRows,
  matchesFilter,
  parseListOrder,
  parseStatusFilter,
  PHASE_ORDER,
  sortRows,
  statusRow,
  SYNC_ORDER,
  type EnvironmentStatus,
  type GitMain,
  type StatusFilter,
  type WorkflowFacts,
} from '../../common/status';
import { ACTIVE_PHASES, assessSync, selfHealFor, syncOnAccepted, syncOnCheck, syncOnFinished, syncStatusOf, underWay, type AssessInput, type StackFacts, type SyncInputs } from '../../common/sync';
import { Action, DeployPhase, DeploymentResult, SyncStatus, type DesiredState, type EnvironmentState, type SyncReport } from '../../common/types';
import { EnvironmentController } from '../../workflows/environment-state';
import { idleState, waitingState } from '../server/fakes';

/**
 * The status model: one verdict of SyncStatus from a workflow's state, git main and the drift
 * sweep's findings, checked by tables (each rule with its reason) and by properties over random
 * inputs and random message sequences of the environment workflow's controller.
 */

const url = (environment: string) => `http://ui.test/namespaces/default/workflows/cfn-gitops%2F${environment}`;
const queried = (state: EnvironmentState): WorkflowFacts => ({ workflowId: `cfn-gitops/${state.environment}`, state, attributes: {} });
const git = (versions: Record<string, string>): GitMain => ({ commit: 'f'.repeat(40), environments: new Map(Object.entries(versions).map(([k, v]) => [k, { appVersion: v }])) });

const PHASES = Object.values(DeployPhase);
const STATUSES = Object.values(SyncStatus);

describe('syncStatusOf: one verdict, rule by rule', () => {
  const idle: SyncInputs = { phase: 'Idle', running: false, desiredSource: 'git', desiredVersion: '1.4.2', deployedVersion: '1.4.2', recorded: SyncStatus.Synced };
  it.each<[string, Partial<SyncInputs>, SyncStatus]>([
    ['git and AWS agree', {}, SyncStatus.Synced],
    ['a deployment runs', { phase: 'RunningPipeline', recorded: SyncStatus.Progressing }, SyncStatus.Progressing],
    ['a deployment is queued', { phase: 'Queued' }, SyncStatus.Progressing],
    ['a deployment past its approval gate, before its first phase', { running: true }, SyncStatus.Progressing],
    ['a request waits for approval: nothing moves', { phase: 'WaitingForApproval', desiredVersion: '1.5.0', recorded: SyncStatus.Progressing }, SyncStatus.OutOfSync],
    ['a request of the same version waits for approval', { phase: 'WaitingForApproval', recorded: SyncStatus.Progressing }, SyncStatus.OutOfSync],
    ['git main asks for another version', { desiredVersion: '1.5.0' }, SyncStatus.OutOfSync],
    ['the folder is gone and the environment deleted', { removed: true, phase: 'Deleted', deployedVersion: undefined }, SyncStatus.Synced],
    ['the folder is gone, the environment not yet', { removed: true, desiredVersion: undefined }, SyncStatus.Orphaned],
    ['a folder without a workflow', { phase: undefined, deployedVersion: undefined, recorded: undefined }, SyncStatus.Missing],
    ['a folder whose environment was deleted', { phase: 'Deleted' }, SyncStatus.Missing],
    ['the sweep found drift', { recorded: SyncStatus.Drifted }, SyncStatus.Drifted],
    ['a recorded Progressing that nothing backs, versions equal', { recorded: SyncStatus.Progressing }, SyncStatus.Synced],
    ['a recorded Progressing that nothing backs, desired unknown', { desiredSource: 'none', desiredVersion: undefined, recorded: SyncStatus.Progressing }, SyncStatus.OutOfSync],
    ['no record, versions equal', { desiredSource: 'workflow', recorded: undefined }, SyncStatus.Synced],
    ['no record, nothing desired', { desiredSource: 'none', desiredVersion: undefined, recorded: undefined }, SyncStatus.Unknown],
  ])('%s', (_why, change, expected) => {
    expect(syncStatusOf({ ...idle, ...change })).toBe(expected);
  });

  const inputs: fc.Arbitrary<SyncInputs> = fc.record({
    phase: fc.option(fc.constantFrom(...PHASES), { nil: undefined }),
    running: fc.boolean(),
    desiredSource: fc.constantFrom('git' as const, 'workflow' as const, 'none' as const),
    desiredVersion: fc.option(fc.constantFrom('1.0.0', '1.1.0'), { nil: undefined }),
    removed: fc.option(fc.boolean(), { nil: undefined }),
    deployedVersion: fc.option(fc.constantFrom('1.0.0', '1.1.0'), { nil: undefined }),
    recorded: fc.option(fc.constantFrom(...STATUSES), { nil: undefined }),
  });

  it('is Progressing exactly when a deployment is under way', () => {
    fc.assert(fc.property(inputs, (i) => (syncStatusOf(i) === SyncStatus.Progressing) === (i.running || ACTIVE_PHASES.has(i.phase ?? ''))));
  });

  it('never says Synced while git asks for another version, a request waits for approval, or a removed environment stands', () => {
    fc.assert(
      fc.property(inputs, (i) => {
        if (syncStatusOf(i) !== SyncStatus.Synced) return;
        if (i.removed) expect(i.phase).toBe(DeployPhase.Deleted);
        else {
          expect(i.desiredVersion === undefined || i.desiredVersion === i.deployedVersion).toBe(true);
          expect(i.phase).not.toBe(DeployPhase.WaitingForApproval);
        }
      }),
    );
  });

  it('keeps what the workflow recorded when nothing overrides it', () => {
    fc.assert(
      fc.property(inputs, (i) => {
        const quiet = { ...i, running: false, phase: DeployPhase.Idle, removed: undefined, desiredVersion: i.deployedVersion };
        if (quiet.recorded === undefined || quiet.recorded === SyncStatus.Progressing) return;
        expect(syncStatusOf(quiet)).toBe(quiet.recorded);
      }),
    );
  });
});

describe('status rows', () => {
  it('is in sync when git main asks for the deployed version', () => {
    const row = statusRow({ environment: 'dev', url: url('dev'), workflow: queried(idleState('dev', '1.4.2')), git: git({ dev: '1.4.2' }) });
    expect(row).toMatchObject({ desiredVersion: '1.4.2', desiredSource: 'git', deployedVersion: '1.4.2', phase: 'Idle', syncStatus: 'Synced', lastResult: 'Succeeded', source: 'query' });
  });

  it('is out of sync when main asks for another version, Missing without a workflow, Orphaned without a folder', () => {
    expect(statusRow({ environment: 'dev', url: url('dev'), workflow: queried(idleState('dev', '1.4.2')), git: git({ dev: '1.5.0' }) }).syncStatus).toBe('OutOfSync');
    expect(statusRow({ environment: 'new', url: url('new'), git: git({ new: '1.0.0' }) })).toMatchObject({ syncStatus: 'Missing', desiredVersion: '1.0.0', phase: undefined, source: 'none' });
    expect(statusRow({ environment: 'old', url: url('old'), workflow: queried(idleState('old', '1.0.0')), git: git({}) })).toMatchObject({ syncStatus: 'Orphaned', removedFromGit: true });
  });

  it('is OutOfSync while a deployment waits for approval, Progressing once it runs, and shows the approval', () => {
    const waiting = waitingState('prod', '1.4.1', '1.4.2');
    const row = statusRow({ environment: 'prod', url: url('prod'), workflow: queried(waiting) });
    expect(row).toMatchObject({ desiredVersion: '1.4.2', desiredSource: 'workflow', deployedVersion: '1.4.1', syncStatus: 'OutOfSync', phase: 'WaitingForApproval' });
    const running = { ...waiting, phase: 'RunningPipeline' as const, approval: undefined };
    expect(statusRow({ environment: 'prod', url: url('prod'), workflow: queried(running), git: git({ prod: '1.4.2' }) }).syncStatus).toBe('Progressing');
    expect(row.pendingApproval).toMatchObject({ currentVersion: '1.4.1', newVersion: '1.4.2', author: 'Dana <Developer>' });
  });

  it("shows the approver the commit's first line, its committer, the change set preview and who approved so far", () => {
    const waiting = waitingState('prod', '1.4.1', '1.4.2');
    const approval = { ...waiting.approval!, commit: { ...waiting.approval!.commit, message: 'prod: 1.4.2\n\nwhy', committer: { name: 'Wes Writer', email: 'wes@example.com' } }, pipelineChanges: ['Modify Pipeline (AWS::CodePipeline::Pipeline): Properties'] };
    const row = statusRow({ environment: 'prod', url: url('prod'), workflow: queried({ ...waiting, approval }) });
    expect(row.pendingApproval).toEqual({
      currentVersion: '1.4.1',
      newVersion: '1.4.2',
      action: 'sync',
      commit: approval.commit.sha,
      message: 'prod: 1.4.2',
      author: 'Dana <Developer>',
      committer: 'Wes Writer',
      requestedAt: approval.requestedAt,
      expiresAt: approval.expiresAt,
      pipelineChanges: ['Modify Pipeline (AWS::CodePipeline::Pipeline): Properties'],
      approvals: [],
    });
    // An approval the workflow recorded while its gate is still open counts; no preview, no list.
    const approved = statusRow({ environment: 'prod', url: url('prod'), workflow: queried({ ...waiting, current: { ...waiting.current!, approvedBy: 'Avery', approvalComment: 'ok' } }) });
    expect(approved.pendingApproval!.approvals).toEqual([{ by: 'Avery', comment: 'ok' }]);
    expect(approved.pendingApproval!.pipelineChanges).toBeUndefined();
    expect(approved.pendingApproval!.committer).toBeUndefined();
  });

  it('falls back to the search attributes when the query fails, and ignores a SyncStatus value it does not know', () => {
    const row = statusRow({ environment: 'dev', url: url('dev'), workflow: { workflowId: 'cfn-gitops/dev', attributes: { phase: 'Idle', appVersion: '1.4.2', syncStatus: 'Drifted' } } });
    expect(row).toMatchObject({ deployedVersion: '1.4.2', phase: 'Idle', syncStatus: 'Drifted', source: 'search-attributes' });
    expect(statusRow({ environment: 'dev', url: url('dev'), workflow: { workflowId: 'cfn-gitops/dev', attributes: { phase: 'Idle', syncStatus: 'Sideways' } } }).syncStatus).toBe('Unknown');
  });
});

describe('the workflow record and the row over random message sequences', () => {
  const sha = (n: number) => n.toString(16).padStart(40, '0');
  const desired = (n: number, action: Action, version: string): DesiredState => ({
    environment: 'prod',
    action,
    commit: { sha: sha(n), generation: n, author: { name: 'A', email: 'a@example.com' }, message: `c${n}`, date: '2026-12-01T00:00:00Z' },
    reason: 'config changed',
    settings: { stackPrefix: 'cfn-gitops-', artifactBucket: 'bucket', protectedEnvironments: [] },
    ...(action === Action.Sync ? { config: { appVersion: version, parameters: {} }, templates: { pipeline: 'p', environment: 'e' } } : {}),
    repoProtected: false,
  });
  type Step =
    | { kind: 'submit'; action: Action; version: string }
    | { kind: 'start'; gated: boolean }
    | { kind: 'approve' }
    | { kind: 'finish'; result: DeploymentResult }
    | { kind: 'sweep'; status: SyncStatus };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('submit' as const), action: fc.constantFrom(Action.Sync, Action.Sync, Action.Delete), version: fc.constantFrom('1.0.0', '1.1.0', '1.2.0') }),
    fc.record({ kind: fc.constant('start' as const), gated: fc.boolean() }),
    fc.constant({ kind: 'approve' as const }),
    fc.record({ kind: fc.constant('finish' as const), result: fc.constantFrom(DeploymentResult.Succeeded, DeploymentResult.Failed, DeploymentResult.Cancelled, DeploymentResult.Rejected) }),
    fc.record({ kind: fc.constant('sweep' as const), status: fc.constantFrom(...STATUSES) }),
  );
  const policy = { protected: true, approvalWindowMs: 60_000, allowSelfApproval: true, selfHeal: false };

  it('answers Progressing exactly while a deployment is under way, OutOfSync (or Orphaned) while a request waits for approval, and Synced only at the desired version', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const env = new EnvironmentController('prod');
        const now = new Date('2026-12-01T00:00:00Z');
        let n = 0;
        for (const s of steps) {
          if (s.kind === 'submit') env.submit(desired(++n, s.action, s.version), now);
          else if (s.kind === 'start' && !env.current && env.hasWork()) {
            const work = env.startNext(now);
            if (s.gated) env.openApproval(policy, now);
            else env.setPhase(work.request.action === Action.Sync ? DeployPhase.RunningPipeline : DeployPhase.DeletingEnvironment);
          } else if (s.kind === 'approve' && env.getState().approval) {
            env.closeApproval();
            env.setPhase(DeployPhase.RunningPipeline);
          } else if (s.kind === 'finish' && env.current) {
            env.finishCurrent(env.getState().approval && s.result === DeploymentResult.Succeeded ? DeploymentResult.Rejected : s.result, 'done', now);
          } else if (s.kind === 'sweep') {
            env.recordSync({ status: s.status, checkedAt: now.toISOString(), drifted: [] });
          }
          const state = env.getState();
          const row = statusRow({ environment: 'prod', url: url('prod'), workflow: queried(state) });
          expect(row.syncStatus === SyncStatus.Progressing).toBe(underWay(state));
          if (state.approval) expect(row.syncStatus).toBe(state.desired?.action === Action.Delete ? SyncStatus.Orphaned : SyncStatus.OutOfSync);
          if (row.syncStatus === SyncStatus.Synced && state.desired?.action === Action.Sync) expect(row.deployedVersion).toBe(state.desired.appVersion);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('what the workflow records', () => {
  const report = (status: SyncStatus): SyncReport => ({ status, checkedAt: '2026-12-01T00:00:00.000Z', drifted: [], message: 'm' });
  const NOW = '2026-12-02T00:00:00.000Z';

  it('a taken request makes the record Progressing, except Orphaned', () => {
    expect(syncOnAccepted(undefined, NOW)).toEqual({ drifted: [], checkedAt: NOW, status: SyncStatus.Progressing });
    expect(syncOnAccepted(report(SyncStatus.Drifted), NOW)).toEqual({ ...report(SyncStatus.Drifted), status: SyncStatus.Progressing });
    expect(syncOnAccepted(report(SyncStatus.Orphaned), NOW)).toEqual(report(SyncStatus.Orphaned));
  });

  it('a successful sync is Synced, a successful delete leaves no record, any other end of what progressed is OutOfSync', () => {
    const end = { action: Action.Sync, now: NOW, desiredVersion: '1.1.0', deployedVersion: '1.1.0' };
    expect(syncOnFinished(report(SyncStatus.Progressing), { ...end, result: DeploymentResult.Succeeded })).toEqual({
      status: SyncStatus.Synced,
      checkedAt: NOW,
      desiredVersion: '1.1.0',
      deployedVersion: '1.1.0',
      drifted: [],
      message: 'deployed',
    });
    expect(syncOnFinished(report(SyncStatus.Progressing), { ...end, action: Action.Delete, result: DeploymentResult.Succeeded })).toBeUndefined();
    for (const result of [DeploymentResult.Failed, DeploymentResult.Cancelled, DeploymentResult.Rejected, DeploymentResult.Expired]) {
      expect(syncOnFinished(report(SyncStatus.Progressing), { ...end, result })).toEqual({ ...report(SyncStatus.OutOfSync), message: `last deployment ${result}` });
      expect(syncOnFinished(report(SyncStatus.Orphaned), { ...end, result })).toEqual(report(SyncStatus.Orphaned));
    }
  });

  it("a check's finding is kept, as Progressing while a deployment is current", () => {
    expect(syncOnCheck(report(SyncStatus.Drifted), false)).toEqual(report(SyncStatus.Drifted));
    expect(syncOnCheck(report(SyncStatus.Drifted), true)).toEqual(report(SyncStatus.Progressing));
  });
});

describe('assessSync: the drift sweep asks AWS only what it needs', () => {
  const COMMIT = 'c0ffee'.padEnd(40, '0');
  const base = (state?: EnvironmentState): AssessInput => ({ environment: 'dev', workflowId: 'cfn-gitops/dev', environmentStackName: 'cfn-gitops-dev', pipelineStackName: 'cfn-gitops-dev-pipeline', state, aws: {} });
  const stack = (name: string, status = 'UPDATE_COMPLETE', appVersion?: string, tags: Record<string, string> = {}): StackFacts => ({ name, status, parameters: appVersion ? { AppVersion: appVersion } : {}, tags });
  const deployed = { ...idleState('dev', '1.4.2'), desired: { commit: COMMIT, generation: 1, appVersion: '1.4.2', action: Action.Sync } };

  it('asks for the stacks, then a running execution, then drift detection on the stacks that allow it, and then decides', () => {
    const input = base(deployed);
    expect(assessSync(input)).toEqual({ done: false, need: 'stacks' });
    input.aws.stacks = { environment: stack('cfn-gitops-dev', 'UPDATE_COMPLETE', '1.4.2'), pipeline: stack('cfn-gitops-dev-pipeline', 'UPDATE_ROLLBACK_COMPLETE') };
    expect(assessSync(input)).toEqual({ done: false, need: 'execution' });
    input.aws.runningExecution = null;
    expect(assessSync(input)).toEqual({ done: false, need: 'drift', stackNames: ['cfn-gitops-dev', 'cfn-gitops-dev-pipeline'] });
    input.aws.drift = { drifted: [], failures: [] };
    expect(assessSync(input)).toEqual({ done: true, finding: { status: 'Synced', desiredVersion: '1.4.2', deployedVersion: '1.4.2', drifted: [], message: 'app 1.4.2 in git and AWS; 2 stacks without drift' } });
    input.aws.drift = { drifted: ['Topic (AWS::SNS::Topic) in cfn-gitops-dev: deleted'], failures: [] };
    expect(assessSync(input)).toMatchObject({ done: true, finding: { status: 'Drifted', message: '1 resource changed outside CloudFormation' } });
  });

  it('decides from the workflow alone while a request is in hand: Progressing when it moves, OutOfSync while it waits for approval, as the row says', () => {
    const waiting = waitingState('dev', '1.4.1', '1.4.2');
    const finding = assessSync(base(waiting));
    expect(finding).toEqual({ done: true, finding: { status: 'OutOfSync', desiredVersion: '1.4.2', deployedVersion: '1.4.1', drifted: [], message: 'sync of app 1.4.2 (d1d1d1d) waits for approval' } });
    expect(statusRow({ environment: 'dev', url: url('dev'), workflow: queried(waiting) }).syncStatus).toBe('OutOfSync');
    const running = { ...waiting, phase: DeployPhase.RunningPipeline, approval: undefined };
    expect(assessSync(base(running))).toMatchObject({ done: true, finding: { status: 'Progressing', message: 'deployment #2: sync of app 1.4.2 (d1d1d1d) is RunningPipeline' } });
  });

  it('says Missing, Orphaned, OutOfSync and Progressing with the stack, the version or the execution that makes it so', () => {
    const missing = { ...base(deployed), aws: { stacks: { environment: null, pipeline: stack('cfn-gitops-dev-pipeline') } } };
    expect(assessSync(missing)).toMatchObject({ finding: { status: 'Missing', message: 'git main has dev (app 1.4.2) but cfn-gitops-dev does not exist in AWS' } });
    const orphan = { ...base(), workflowId: undefined, aws: { stacks: { environment: stack('cfn-gitops-dev', 'UPDATE_COMPLETE', '1.0.0'), pipeline: null } } };
    expect(assessSync(orphan)).toMatchObject({ finding: { status: 'Orphaned', deployedVersion: '1.0.0', message: 'cfn-gitops-dev exists in AWS but git main has no folder dev' } });
    expect(assessSync({ ...base(), aws: { stacks: { environment: null, pipeline: null } } })).toEqual({ done: true });
    // Another installation's stacks under the same prefix are its own to report; this one's, and untagged ones, are orphans here.
    const tagged = (installation: string) => ({ ...orphan, installation: 'team-a', aws: { stacks: { environment: orphan.aws.stacks.environment, pipeline: stack('cfn-gitops-dev-pipeline', 'UPDATE_COMPLETE', undefined, { 'cfn-gitops:environment': 'dev', 'cfn-gitops:installation': installation }) } } });
    expect(assessSync(tagged('team-b'))).toEqual({ done: true });
    expect(assessSync(tagged('team-a'))).toMatchObject({ finding: { status: 'Orphaned', message: 'cfn-gitops-dev and cfn-gitops-dev-pipeline exist in AWS but git main has no folder dev' } });
    expect(assessSync({ ...tagged('team-b'), workflowId: 'cfn-gitops/dev' })).toMatchObject({ finding: { status: 'Orphaned' } });
    const behind = { ...base(deployed), aws: { stacks: { environment: stack('cfn-gitops-dev', 'UPDATE_COMPLETE', '0.9.0'), pipeline: stack('cfn-gitops-dev-pipeline') }, runningExecution: null, drift: { drifted: [], failures: [] } } };
    expect(assessSync(behind)).toMatchObject({ finding: { status: 'OutOfSync', message: 'git main says app 1.4.2, cfn-gitops-dev runs 0.9.0' } });
    const outside = { ...base(deployed), aws: { stacks: behind.aws.stacks, runningExecution: 'e-42' } };
    expect(assessSync(outside)).toMatchObject({ finding: { status: 'Progressing', message: 'pipeline execution e-42 runs (not started by cfn-gitops)' } });
  });
});

describe('selfHealFor', () => {
  it.each<[string, SyncStatus, Parameters<typeof selfHealFor>[1], ReturnType<typeof selfHealFor>]>([
    ['OutOfSync where allowed', SyncStatus.OutOfSync, { allowed: true }, { request: true }],
    ['Drifted where allowed', SyncStatus.Drifted, { allowed: true, redeployedAlready: false }, { request: true }],
    ['not where the policy forbids it', SyncStatus.OutOfSync, { allowed: false }, { request: false }],
    ['not for Synced, Missing or Progressing', SyncStatus.Missing, { allowed: true }, { request: false }],
    ['not while a request is in hand (deploying or waiting for approval)', SyncStatus.OutOfSync, { allowed: true, requestInHand: true }, { request: false }],
  ])('%s', (_why, status, facts, expected) => {
    expect(selfHealFor({ status }, facts)).toEqual(expected);
  });

  it('says why it does not ask again for drift a re-deploy left in place', () => {
    expect(selfHealFor({ status: SyncStatus.Drifted }, { allowed: true, redeployedAlready: true })).toEqual({ request: false, skipped: expect.stringMatching(/^this commit was already deployed again/) });
  });
});

describe('filters', () => {
  it('reads statuses and phases as a comma list or repeated, without regard to case, and q as part of the name', () => {
    expect(parseStatusFilter({})).toEqual({});
    expect(parseStatusFilter({ syncStatus: 'outofsync, Drifted', phase: ['Idle', 'waitingforapproval'], q: ' Pro ' })).toEqual({
      syncStatus: ['OutOfSync', 'Drifted'],
      phase: ['Idle', 'WaitingForApproval'],
      q: 'Pro',
    });
    expect(parseStatusFilter({ syncStatus: '', q: '' })).toEqual({});
  });

  it('refuses a value it does not know, naming the parameter and the values it takes', () => {
    expect(() => parseStatusFilter({ syncStatus: 'Healthy' })).toThrow('syncStatus: "Healthy" is not a sync status: one of Synced, OutOfSync, Drifted, Missing, Orphaned, Progressing, Unknown');
    expect(() => parseStatusFilter({ phase: 'Running' })).toThrow(/^phase: "Running" is not a phase: one of Idle, Queued, /);
    expect(() => parseStatusFilter({ q: 'x'.repeat(65) })).toThrow('q: at most 64 characters');
    expect(() => parseStatusFilter({ q: ['a', 'b'] })).toThrow(/^q: /);
  });

  const row: fc.Arbitrary<EnvironmentStatus> = fc.record({
    environment: fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,11}$/),
    syncStatus: fc.constantFrom(...STATUSES),
    phase: fc.option(fc.constantFrom(...PHASES), { nil: undefined }),
  }).map((r) => ({ ...r, desiredSource: 'none' as const, workflowId: `cfn-gitops/${r.environment}`, url: url(r.environment), source: 'none' as const }));
  const filter: fc.Arbitrary<StatusFilter> = fc.record(
    {
      syncStatus: fc.uniqueArray(fc.constantFrom(...STATUSES), { minLength: 1 }),
      phase: fc.uniqueArray(fc.constantFrom(...PHASES), { minLength: 1 }),
      q: fc.stringMatching(/^[a-zA-Z0-9-]{1,3}$/),
    },
    { requiredKeys: [] },
  );

  it('keeps exactly the rows that match, in their order; the statuses one by one add up to every row, as the counts say', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 30 }), filter, (rows, f) => {
        const kept = filterRows(rows, f);
        expect(kept).toEqual(rows.filter((r) => matchesFilter(r, f)));
        for (const r of kept) {
          if (f.syncStatus) expect(f.syncStatus).toContain(r.syncStatus);
          if (f.phase) expect(f.phase).toContain(r.phase);
          if (f.q) expect(r.environment.toLowerCase()).toContain(f.q.toLowerCase());
        }
        const counts = countRows(rows);
        for (const status of STATUSES) expect(filterRows(rows, { syncStatus: [status] })).toHaveLength(counts.syncStatus[status]);
        expect(Object.values(counts.phase).reduce((a, b) => a + (b ?? 0), 0)).toBe(rows.length);
        expect(filterRows(rows, {})).toEqual(rows);
      }),
    );
  });
});

describe('order', () => {
  const at = (minutes: number) => new Date(Date.UTC(2024, 4, 1, 12, minutes)).toISOString();
  const base = { desiredSource: 'none' as const, url: '', source: 'none' as const };
  const rows: EnvironmentStatus[] = [
    { ...base, environment: 'beta', workflowId: 'b', syncStatus: 'Drifted', phase: 'Idle', lastResultAt: at(5) },
    { ...base, environment: 'alpha', workflowId: 'a', syncStatus: 'Synced', phase: 'RunningPipeline', lastResultAt: at(30) },
    { ...base, environment: 'gamma', workflowId: 'g', syncStatus: 'Missing' },
    { ...base, environment: 'delta', workflowId: 'd', syncStatus: 'Synced', phase: 'Idle', lastResultAt: at(10) },
  ];
  const names = (sorted: EnvironmentStatus[]) => sorted.map((r) => r.environment);

  it('sorts by name, by sync status and phase in their own order (ties by name), and by last deployment, never-deployed last both ways', () => {
    expect(names(sortRows(rows, { sort: 'name', order: 'asc' }))).toEqual(['alpha', 'beta', 'delta', 'gamma']);
    expect(names(sortRows(rows, { sort: 'name', order: 'desc' }))).toEqual(['gamma', 'delta', 'beta', 'alpha']);
    expect(names(sortRows(rows, { sort: 'syncStatus', order: 'asc' }))).toEqual(['alpha', 'delta', 'beta', 'gamma']);
    expect(names(sortRows(rows, { sort: 'syncStatus', order: 'desc' }))).toEqual(['gamma', 'beta', 'alpha', 'delta']);
    expect(names(sortRows(rows, { sort: 'phase', order: 'asc' }))).toEqual(['beta', 'delta', 'alpha', 'gamma']);
    expect(names(sortRows(rows, { sort: 'lastDeployment', order: 'desc' }))).toEqual(['alpha', 'delta', 'beta', 'gamma']);
    expect(names(sortRows(rows, { sort: 'lastDeployment', order: 'asc' }))).toEqual(['beta', 'delta', 'alpha', 'gamma']);
    expect(names(rows)).toEqual(['beta', 'alpha', 'gamma', 'delta']);
  });

  it('keeps every row once, and orders them as its key says', () => {
    const row: fc.Arbitrary<EnvironmentStatus> = fc
      .record({
        environment: fc.stringMatching(/^[a-z][a-z0-9-]{0,5}$/),
        syncStatus: fc.constantFrom(...STATUSES),
        phase: fc.option(fc.constantFrom(...PHASES), { nil: undefined }),
        lastResultAt: fc.option(fc.integer({ min: 0, max: 10_000 }).map((m) => new Date(m * 60_000).toISOString()), { nil: undefined }),
      })
      .map((r) => ({ ...r, ...base, workflowId: r.environment }));
    const key = fc.constantFrom('name', 'syncStatus', 'phase', 'lastDeployment' as const);
    fc.assert(
      // Names are unique, as environment folders are.
      fc.property(fc.uniqueArray(row, { maxLength: 25, selector: (r) => r.environment }), key, fc.constantFrom('asc' as const, 'desc' as const), (list, sort, order) => {
        const sorted = sortRows(list, { sort, order });
        expect([...sorted].sort((a, b) => a.environment.localeCompare(b.environment))).toEqual([...list].sort((a, b) => a.environment.localeCompare(b.environment)));
        const rank = (r: EnvironmentStatus) =>
          sort === 'syncStatus' ? SYNC_ORDER.indexOf(r.syncStatus) : sort === 'phase' ? (r.phase ? PHASE_ORDER.indexOf(r.phase) : Infinity) : sort === 'lastDeployment' ? (r.lastResultAt ? Date.parse(r.lastResultAt) : Infinity) : 0;
        for (let i = 1; i < sorted.length; i++) {
          const [a, b] = [rank(sorted[i - 1]!), rank(sorted[i]!)];
          if (sort === 'name') expect(sorted[i - 1]!.environment.localeCompare(sorted[i]!.environment) * (order === 'asc' ? 1 : -1)).toBeLessThanOrEqual(0);
          else if (b !== Infinity) expect(order === 'asc' ? a <= b : a !== Infinity && a >= b).toBe(true);
        }
      }),
    );
  });

  it('reads sort and order from a query, name ascending by default, and names what it does not take', () => {
    expect(parseListOrder({})).toEqual({ sort: 'name', order: 'asc' });
    expect(parseListOrder({ sort: 'lastDeployment', order: 'desc', q: 'x' })).toEqual({ sort: 'lastDeployment', order: 'desc' });
    expect(() => parseListOrder({ sort: 'age' })).toThrow('sort: one of name, syncStatus, phase, lastDeployment');
    expect(() => parseListOrder({ order: 'up' })).toThrow('order: asc or desc');
  });
});
