import { CreateStackCommand, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { createDriftActivities, type EnvironmentWorkflows, type SweepTarget } from '../../activities/drift';
import { Action, DeployPhase, type EnvironmentState, type SyncReport } from '../../common/types';
import { control, stackSettled } from '../emulator/helpers';
import { cancellation, failure, newAttempt, REGION, startTier, type Tier } from './harness';

/**
 * Activity tier, drift sweep: `listSweepTargets` and `checkEnvironmentSync` in a mock activity
 * context with the real SDK clients against the emulator (stacks, drift injected through its
 * control API) and the environment workflows as a fake object; what they report and to whom.
 */

const ENVIRONMENT_TEMPLATE = [
  'Parameters:',
  '  AppVersion: { Type: String }',
  'Resources:',
  '  Topic:',
  '    Type: AWS::SNS::Topic',
  '    Properties:',
  '      DisplayName: !Ref AppVersion',
  '  Queue:',
  '    Type: AWS::SQS::Queue',
  '    Properties:',
  '      VisibilityTimeout: 30',
  '',
].join('\n');
const PIPELINE_STACK_TEMPLATE = 'Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n';

const COMMIT = 'c0ffee'.padEnd(40, '0');

/** An environment workflow's state after a successful deploy of `appVersion`. */
function deployed(environment: string, appVersion: string, overrides: Partial<EnvironmentState> = {}): EnvironmentState {
  return {
    environment,
    phase: DeployPhase.Succeeded,
    deploymentCount: 1,
    successfulVersions: [{ appVersion, commit: COMMIT, at: '2024-01-01T00:00:00Z' }],
    desired: { commit: COMMIT, generation: 3, appVersion, action: Action.Sync },
    applied: { commit: COMMIT, generation: 3, appVersion, at: '2024-01-01T00:00:00Z' },
    deployedVersion: appVersion,
    history: [{ number: 1, action: Action.Sync, commit: COMMIT, appVersion, requestedAt: '2024-01-01T00:00:00Z', result: 'Succeeded' }],
    ...overrides,
  };
}

/** The environment workflows as an object literal: their states, and the reports they were sent. */
function fakeWorkflows(states: Record<string, EnvironmentState & { location?: { stackPrefix: string; region?: string } }>, extraIds: string[] = []) {
  const reports: { workflowId: string; report: SyncReport }[] = [];
  const workflows: EnvironmentWorkflows = {
    running: async () => [...Object.keys(states), ...extraIds],
    isRunning: async (id) => id in states,
    state: async (id) => states[id],
    reportSync: async (workflowId, report) => {
      reports.push({ workflowId, report });
      return workflowId in states;
    },
  };
  return { workflows, reports };
}

describe('drift sweep activities against the emulator', () => {
  let tier: Tier;

  beforeAll(async () => {
    tier = await startTier();
  });
  afterAll(async () => {
    await tier.close();
  });
  afterEach(async () => {
    await tier.clearFaults();
  });

  function activities(workflows: EnvironmentWorkflows, selfHealEnvironments: string[] = []) {
    return createDriftActivities({
      cloudFormation: () => tier.aws.cfn,
      codePipeline: () => tier.aws.cp,
      workflows,
      policy: { protectedEnvironments: [], approvalWindowMs: 60_000, allowSelfApproval: false, selfHealEnvironments },
      timing: { minMs: 40, maxMs: 150 },
      defaultRegion: REGION,
      concurrency: 2,
    });
  }

  /** A sweep target; `orphan` has no environment workflow. */
  const target = (environment: string, orphan = false): SweepTarget => ({
    environment,
    workflowId: orphan ? undefined : `cfn-gitops/${environment}`,
    stackPrefix: 'cfn-gitops-',
    region: REGION,
    selfHeal: false,
  });

  /** The environment's stacks as a deploy leaves them: the pipeline stack and the environment stack at `appVersion`. */
  async function stacks(environment: string, appVersion = '1.0.0'): Promise<void> {
    await tier.aws.cfn.send(new CreateStackCommand({ StackName: `cfn-gitops-${environment}`, TemplateBody: ENVIRONMENT_TEMPLATE, Parameters: [{ ParameterKey: 'AppVersion', ParameterValue: appVersion }] }));
    await tier.aws.cfn.send(new CreateStackCommand({ StackName: `cfn-gitops-${environment}-pipeline`, TemplateBody: PIPELINE_STACK_TEMPLATE }));
    await stackSettled(tier.aws.cfn, `cfn-gitops-${environment}`);
    await stackSettled(tier.aws.cfn, `cfn-gitops-${environment}-pipeline`);
  }

  async function count(operation: string, target?: string): Promise<number> {
    return (await tier.calls({ operation, target })).length;
  }

  it('stacks at git\'s version without drift are Synced, and the workflow is told so', async () => {
    await stacks('synced');
    const { workflows, reports } = fakeWorkflows({ 'cfn-gitops/synced': deployed('synced', '1.0.0') });
    const check = await newAttempt().run(activities(workflows).checkEnvironmentSync, target('synced'));
    expect(check).toMatchObject({
      environment: 'synced',
      workflowId: 'cfn-gitops/synced',
      reported: true,
      redeployedAlready: false,
      report: { status: 'Synced', desiredVersion: '1.0.0', deployedVersion: '1.0.0', drifted: [], message: 'app 1.0.0 in git and AWS; 2 stacks without drift' },
    });
    expect(reports).toEqual([{ workflowId: 'cfn-gitops/synced', report: check.report }]);
    expect(Date.parse(check.report!.checkedAt)).not.toBeNaN();
    // Drift detection ran on both stacks.
    expect(await count('DetectStackDrift', 'cfn-gitops-synced')).toBe(1);
    expect(await count('DetectStackDrift', 'cfn-gitops-synced-pipeline')).toBe(1);
  });

  it('another version in AWS than in git is OutOfSync; an applied commit deployed twice says so', async () => {
    await stacks('behind', '1.0.0');
    const twice = deployed('behind', '1.1.0');
    twice.history = [twice.history[0]!, { ...twice.history[0]!, number: 2 }];
    const { workflows } = fakeWorkflows({ 'cfn-gitops/behind': twice });
    const check = await newAttempt().run(activities(workflows).checkEnvironmentSync, target('behind'));
    expect(check.report).toMatchObject({ status: 'OutOfSync', desiredVersion: '1.1.0', deployedVersion: '1.0.0', message: 'git main says app 1.1.0, cfn-gitops-behind runs 1.0.0' });
    expect(check.redeployedAlready).toBe(true);
  });

  it('resources changed or deleted outside CloudFormation are Drifted, one line per resource', async () => {
    await stacks('drifted');
    await control(tier.url, 'POST', '/drift', { stackName: 'cfn-gitops-drifted', logicalResourceId: 'Queue', property: 'VisibilityTimeout', value: 60 });
    await control(tier.url, 'POST', '/drift', { stackName: 'cfn-gitops-drifted-pipeline', logicalResourceId: 'Bucket', deleted: true });
    const { workflows, reports } = fakeWorkflows({ 'cfn-gitops/drifted': deployed('drifted', '1.0.0') });
    const check = await newAttempt().run(activities(workflows).checkEnvironmentSync, target('drifted'));
    expect(check.report).toMatchObject({
      status: 'Drifted',
      deployedVersion: '1.0.0',
      drifted: ['Queue (AWS::SQS::Queue) in cfn-gitops-drifted: VisibilityTimeout changed from "30" to "60"', 'Bucket (AWS::S3::Bucket) in cfn-gitops-drifted-pipeline: deleted'],
      message: '2 resources changed outside CloudFormation',
    });
    expect(reports.map((r) => r.report.status)).toEqual(['Drifted']);
  });

  it('git\'s environment without stacks is Missing; stacks without a workflow are Orphaned and nobody is told; neither is nothing to report', async () => {
    const { workflows, reports } = fakeWorkflows({ 'cfn-gitops/absent': deployed('absent', '2.0.0') });
    const drift = activities(workflows);
    const missing = await newAttempt().run(drift.checkEnvironmentSync, target('absent'));
    expect(missing).toMatchObject({
      reported: true,
      report: { status: 'Missing', message: 'git main has absent (app 2.0.0) but cfn-gitops-absent and cfn-gitops-absent-pipeline do not exist in AWS' },
    });
    expect(await count('DetectStackDrift', 'cfn-gitops-absent')).toBe(0);

    await stacks('orphan');
    const orphan = await newAttempt().run(drift.checkEnvironmentSync, target('orphan', true));
    expect(orphan).toMatchObject({
      environment: 'orphan',
      reported: false,
      report: { status: 'Orphaned', deployedVersion: '1.0.0', message: 'cfn-gitops-orphan and cfn-gitops-orphan-pipeline exist in AWS but git main has no folder orphan' },
    });
    expect(await newAttempt().run(drift.checkEnvironmentSync, target('never', true))).toEqual({ environment: 'never', workflowId: undefined, reported: false });
    expect(reports.map((r) => r.workflowId)).toEqual(['cfn-gitops/absent']);
    expect(orphan.workflowId).toBeUndefined();
  });

  it('a deployment under way, or a stack operation someone else runs, is Progressing; no drift detection is started', async () => {
    const running = deployed('moving', '1.0.0', {
      phase: DeployPhase.RunningPipeline,
      current: { number: 2, action: Action.Sync, commit: 'abcdef1234567', appVersion: '1.1.0', requestedAt: '2024-01-02T00:00:00Z' },
    });
    const { workflows } = fakeWorkflows({ 'cfn-gitops/moving': running, 'cfn-gitops/busy': deployed('busy', '1.0.0') });
    const drift = activities(workflows);
    const moving = await newAttempt().run(drift.checkEnvironmentSync, target('moving'));
    expect(moving.report).toMatchObject({ status: 'Progressing', message: 'deployment #2: sync of app 1.1.0 (abcdef1) is RunningPipeline' });
    expect(await count('DescribeStacks', 'cfn-gitops-moving')).toBe(0);

    await stacks('busy');
    await tier.planStacks({ stackName: 'cfn-gitops-busy', operation: 'UPDATE', delayMs: 2000 });
    await tier.aws.cfn.send(new UpdateStackCommand({ StackName: 'cfn-gitops-busy', TemplateBody: ENVIRONMENT_TEMPLATE, Parameters: [{ ParameterKey: 'AppVersion', ParameterValue: '1.0.1' }] }));
    const busy = await newAttempt().run(drift.checkEnvironmentSync, target('busy'));
    expect(busy.report).toMatchObject({ status: 'Progressing', message: 'cfn-gitops-busy is UPDATE_IN_PROGRESS (not an operation of cfn-gitops)' });
    expect(await count('DetectStackDrift', 'cfn-gitops-busy')).toBe(0);
  });

  it('a request waiting for approval is OutOfSync, as the status row says, and marked as a request in hand; AWS is not asked', async () => {
    const waiting = deployed('gated', '1.0.0', {
      phase: DeployPhase.WaitingForApproval,
      desired: { commit: 'abcdef1234567'.padEnd(40, '0'), generation: 4, appVersion: '1.1.0', action: Action.Sync },
      current: { number: 2, action: Action.Sync, commit: 'abcdef1234567'.padEnd(40, '0'), appVersion: '1.1.0', requestedAt: '2024-01-02T00:00:00Z' },
    });
    const { workflows, reports } = fakeWorkflows({ 'cfn-gitops/gated': waiting });
    const check = await newAttempt().run(activities(workflows).checkEnvironmentSync, target('gated'));
    expect(check).toMatchObject({
      requestInHand: true,
      report: { status: 'OutOfSync', desiredVersion: '1.1.0', deployedVersion: '1.0.0', message: 'sync of app 1.1.0 (abcdef1) waits for approval' },
    });
    expect(reports.map((r) => r.report.status)).toEqual(['OutOfSync']);
    expect(await count('DescribeStacks', 'cfn-gitops-gated')).toBe(0);
  });

  it('throttling and 5xx are thrown for the retry policy, with no report; any other refusal is reported as Unknown with AWS\'s reason', async () => {
    await stacks('faulty');
    const { workflows, reports } = fakeWorkflows({ 'cfn-gitops/faulty': deployed('faulty', '1.0.0') });
    const drift = activities(workflows);

    await tier.fault({ service: 'cloudformation', operation: 'DescribeStacks', error: { code: 'Throttling', message: 'Rate exceeded', status: 400 }, count: 1 });
    const throttled = await failure(newAttempt().run(drift.checkEnvironmentSync, target('faulty')));
    expect(throttled).toMatchObject({ type: 'AwsThrottled', nonRetryable: false });
    expect(throttled.message).toMatch(/^faulty: DescribeStacks cfn-gitops-faulty(-pipeline)?: Rate exceeded$/);

    await tier.fault({ service: 'cloudformation', operation: 'DescribeStackDriftDetectionStatus', error: { code: 'InternalFailure', message: 'Internal failure', status: 500 }, count: 1 });
    const unavailable = await failure(newAttempt().run(drift.checkEnvironmentSync, target('faulty')));
    expect(unavailable).toMatchObject({ type: 'AwsUnavailable', nonRetryable: false });
    expect(unavailable.message).toMatch(/^faulty: DescribeStackDriftDetectionStatus cfn-gitops-faulty(-pipeline)?: Internal failure$/);
    expect(reports).toEqual([]);

    await tier.fault({ service: 'cloudformation', operation: 'DetectStackDrift', error: { code: 'AccessDenied', message: 'not authorized to perform: cloudformation:DetectStackDrift', status: 403 } });
    const denied = await newAttempt().run(drift.checkEnvironmentSync, target('faulty'));
    expect(denied).toMatchObject({ reported: true, report: { status: 'Unknown', desiredVersion: '1.0.0', drifted: [] } });
    expect(denied.report!.message).toMatch(/^AWS could not answer: faulty: DetectStackDrift cfn-gitops-faulty(-pipeline)?: not authorized to perform: cloudformation:DetectStackDrift$/);
    expect(reports.map((r) => r.report.status)).toEqual(['Unknown']);
  });

  it('waiting for drift detection heartbeats its poll count; cancelled, it rethrows, reports nothing and polls no more', async () => {
    await stacks('watched');
    const { workflows, reports } = fakeWorkflows({ 'cfn-gitops/watched': deployed('watched', '1.0.0') });
    const drift = activities(workflows);
    const restore = await tier.timing({ driftDetectionMs: 400 });
    try {
      const done = newAttempt();
      expect((await done.run(drift.checkEnvironmentSync, target('watched'))).report?.status).toBe('Synced');
      expect(done.heartbeats.length).toBeGreaterThan(0);
      expect(done.heartbeats).toEqual(done.heartbeats.map((_, i) => ({ polls: 1 + i })));

      const before = await count('DescribeStackDriftDetectionStatus');
      const cancelled = newAttempt();
      cancelled.env.on('heartbeat', () => cancelled.env.cancel());
      await cancellation(cancelled.run(drift.checkEnvironmentSync, target('watched')));
      expect(cancelled.heartbeats).toEqual([{ polls: 1 }]);
      // One status call per stack, then nothing: no resource drifts read, no report sent.
      expect(await count('DescribeStackDriftDetectionStatus')).toBe(before + 2);
      expect(await count('DescribeStackResourceDrifts', 'cfn-gitops-watched')).toBe(1);
      expect(reports).toHaveLength(1);
    } finally {
      await restore();
    }
  });

  describe('listSweepTargets', () => {
    let own: Tier;
    beforeAll(async () => {
      own = await startTier();
      const create = (StackName: string) => own.aws.cfn.send(new CreateStackCommand({ StackName, TemplateBody: PIPELINE_STACK_TEMPLATE }));
      // alpha's and team's stacks, an orphan under each prefix, and a stack under no known prefix.
      for (const name of ['cfn-gitops-alpha', 'cfn-gitops-alpha-pipeline', 'cfn-gitops-orphan-pipeline', 'team-beta', 'team-lost', 'unrelated']) await create(name);
    });
    afterAll(async () => {
      await own.close();
    });

    function sweep(workflows: EnvironmentWorkflows) {
      return createDriftActivities({
        cloudFormation: () => own.aws.cfn,
        codePipeline: () => own.aws.cp,
        workflows,
        policy: { protectedEnvironments: [], approvalWindowMs: 60_000, allowSelfApproval: false, selfHealEnvironments: ['alpha'] },
        timing: { minMs: 40, maxMs: 150 },
        defaultRegion: REGION,
        concurrency: 3,
      });
    }

    it('lists the running environment workflows at their prefix and region, then the orphans under each known prefix', async () => {
      const { workflows } = fakeWorkflows(
        {
          'cfn-gitops/alpha': deployed('alpha', '1.0.0'),
          'cfn-gitops/beta': { ...deployed('beta', '1.0.0'), location: { stackPrefix: 'team-' } },
        },
        ['someone-else/workflow'],
      );
      const attempt = newAttempt();
      const listed = await attempt.run(sweep(workflows).listSweepTargets, {});
      expect(listed).toEqual({
        concurrency: 3,
        targets: [
          { environment: 'alpha', workflowId: 'cfn-gitops/alpha', stackPrefix: 'cfn-gitops-', region: REGION, selfHeal: true },
          { environment: 'beta', workflowId: 'cfn-gitops/beta', stackPrefix: 'team-', region: REGION, selfHeal: false },
          { environment: 'lost', workflowId: undefined, stackPrefix: 'team-', region: REGION, selfHeal: false },
          { environment: 'orphan', workflowId: undefined, stackPrefix: 'cfn-gitops-', region: REGION, selfHeal: false },
        ],
      });
      expect(attempt.heartbeats).toContainEqual({ region: REGION });

      const one = await newAttempt().run(sweep(workflows).listSweepTargets, { environment: 'beta' });
      expect(one.targets).toEqual([{ environment: 'beta', workflowId: 'cfn-gitops/beta', stackPrefix: 'team-', region: REGION, selfHeal: false }]);
      const gone = await newAttempt().run(sweep(workflows).listSweepTargets, { environment: 'gamma' });
      expect(gone.targets).toEqual([{ environment: 'gamma', workflowId: undefined, stackPrefix: 'cfn-gitops-', region: REGION, selfHeal: false }]);
    });

    it('a throttled ListStacks is thrown for the retry policy', async () => {
      await own.fault({ service: 'cloudformation', operation: 'ListStacks', throttleRate: 1 });
      const { workflows } = fakeWorkflows({});
      const thrown = await failure(newAttempt().run(sweep(workflows).listSweepTargets, {}));
      expect(thrown).toMatchObject({ type: 'AwsThrottled', nonRetryable: false, message: `*: ListStacks ${REGION}: Rate exceeded` });
      await own.clearFaults();
    });
  });
});
