import { CreateStackCommand, DescribeStacksCommand, ListChangeSetsCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { GetPipelineCommand, ListPipelineExecutionsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-codepipeline';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { StackChange } from '../../activities/cloudformation';
import type { RunningEmulator } from '../../emulator';
import type { CallRecord } from '../../emulator/journal';
import { clients, control, ENVIRONMENT_TEMPLATE, executionSettled, PIPELINE_TEMPLATE, stackSettled, startTestEmulator, uploadSource, type Clients } from '../emulator/helpers';

/**
 * Activity tier: an environment owns its derived names. Each activity runs in a mock activity
 * context with the real SDK clients against the emulator; what AWS holds afterwards is read back.
 */

const REGION = 'us-east-1';
const BUCKET = 'cfn-gitops-artifacts';
const INSTALLATION = 'ownership-tests/cfn-gitops';

/** AWS calls that change a stack or a pipeline; none may reach a stack that is not ours. */
const WRITES = new Set(['UpdateStack', 'DeleteStack', 'CreateChangeSet', 'ContinueUpdateRollback', 'StartPipelineExecution', 'StopPipelineExecution']);

describe('activities refuse stacks and pipelines their environment does not own', () => {
  let emulator: RunningEmulator;
  let aws: Clients;
  let activities: ReturnType<typeof createActivities>;
  const mock = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  /** Runs an activity in the mock activity context, typed as the activity is. */
  const env = {
    run<A extends unknown[], R>(activity: (...args: A) => Promise<R>, ...args: A): Promise<R> {
      return mock.run(activity, ...args);
    },
  };

  beforeAll(async () => {
    emulator = await startTestEmulator();
    aws = clients(emulator.url);
    activities = createActivities({
      aws: { cloudFormation: () => aws.cfn, codePipeline: () => aws.cp, s3: () => aws.s3 },
      policy: { protectedEnvironments: [], approvalWindowMs: 60_000, allowSelfApproval: false, selfHealEnvironments: [] },
      timing: { minMs: 50, maxMs: 200 },
      defaultRegion: REGION,
      installation: INSTALLATION,
    });
  });
  afterAll(async () => {
    await emulator.close();
  });

  /** The pipeline stack's parameters as the deployment workflow passes them. */
  function parameters(environment: string, appVersion = '1.0.0'): Record<string, string> {
    return {
      EnvironmentName: environment,
      PipelineName: `cfn-gitops-${environment}`,
      EnvironmentStackName: `cfn-gitops-${environment}`,
      AppVersion: appVersion,
      ArtifactBucket: BUCKET,
    };
  }

  function change(environment: string, extra: Record<string, string> = {}): StackChange {
    return {
      environment,
      region: REGION,
      stackName: `cfn-gitops-${environment}-pipeline`,
      templateBody: PIPELINE_TEMPLATE,
      parameters: { ...parameters(environment), ...extra },
      requiredParameters: Object.keys(extra),
      requestKey: `cfn-gitops/${environment}/1-sync-test`,
      ignoreForUpdate: ['AppVersion'],
    };
  }

  /** A pipeline stack made with the SDK, as someone else would, under an environment's derived name. */
  async function foreignPipelineStack(environment: string, tags: { Key: string; Value: string }[]): Promise<Stack> {
    await aws.cfn.send(
      new CreateStackCommand({
        StackName: `cfn-gitops-${environment}-pipeline`,
        TemplateBody: PIPELINE_TEMPLATE,
        Parameters: Object.entries(parameters(environment)).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
        Capabilities: ['CAPABILITY_IAM'],
        Tags: tags,
      }),
    );
    const stack = await stackSettled(aws.cfn, `cfn-gitops-${environment}-pipeline`);
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    // No source object was uploaded: the execution the pipeline starts by itself fails at once.
    const first = (await aws.cp.send(new ListPipelineExecutionsCommand({ pipelineName: `cfn-gitops-${environment}` }))).pipelineExecutionSummaries![0]!;
    await executionSettled(aws.cp, `cfn-gitops-${environment}`, first.pipelineExecutionId!);
    return stack;
  }

  async function describe(stackName: string): Promise<Stack> {
    return (await aws.cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks![0]!;
  }

  async function pipelineTags(pipelineName: string): Promise<Record<string, string>> {
    const arn = (await aws.cp.send(new GetPipelineCommand({ name: pipelineName }))).metadata!.pipelineArn!;
    const tags = (await aws.cp.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags ?? [];
    return Object.fromEntries(tags.map((t) => [t.key!, t.value!]));
  }

  /** The failure an activity ends with; fails the test when it succeeds. */
  async function refusal(run: Promise<unknown>): Promise<ApplicationFailure> {
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApplicationFailure);
    return error as ApplicationFailure;
  }

  async function writesTo(target: string): Promise<string[]> {
    const { calls } = await control<{ calls: CallRecord[] }>(emulator.url, 'GET', `/calls?target=${encodeURIComponent(target)}`);
    return calls.map((c) => c.operation).filter((op) => WRITES.has(op));
  }

  it('a pipeline stack created with the SDK without tags is never updated, previewed, rolled on or deleted, and its pipeline never started or stopped', async () => {
    const before = await foreignPipelineStack('prod', []);
    const expected =
      'prod: UpdateStack cfn-gitops-prod-pipeline refused: this stack was not created by cfn-gitops for prod ' +
      '(it carries no cfn-gitops:environment tag): rename the environment or remove the stack';

    const inspected = await refusal(env.run(activities.inspectStack, change('prod', { InstanceType: 't3.small' })));
    expect(inspected).toMatchObject({ type: 'NotOwned', nonRetryable: true, message: expected });
    const updated = await refusal(env.run(activities.updateStack, change('prod', { InstanceType: 't3.small' })));
    expect(updated).toMatchObject({ type: 'NotOwned', nonRetryable: true, message: expected });

    const previewed = await refusal(env.run(activities.previewStackChanges, change('prod', { InstanceType: 't3.small' })));
    expect(previewed.type).toBe('NotOwned');
    expect(previewed.message).toContain('prod: CreateChangeSet cfn-gitops-prod-pipeline refused: this stack was not created by cfn-gitops for prod');
    const rolled = await refusal(env.run(activities.continueUpdateRollback, { environment: 'prod', region: REGION, stackName: 'cfn-gitops-prod-pipeline', requestKey: 'k' }));
    expect(rolled.message).toContain('prod: ContinueUpdateRollback cfn-gitops-prod-pipeline refused');
    // Its EnvironmentName parameter says prod, but a pipeline stack must carry the tag.
    for (const stackKind of [undefined, 'pipeline'] as const) {
      const deleted = await refusal(env.run(activities.deleteStack, { environment: 'prod', region: REGION, stackName: 'cfn-gitops-prod-pipeline', requestKey: 'k', stackKind }));
      expect(deleted).toMatchObject({ type: 'NotOwned', nonRetryable: true });
      expect(deleted.message).toBe(
        'prod: DeleteStack cfn-gitops-prod-pipeline refused: this stack was not created by cfn-gitops for prod ' +
          '(it carries no cfn-gitops:environment tag): rename the environment or remove the stack',
      );
    }

    const started = await refusal(env.run(activities.startPipelineExecution, { environment: 'prod', region: REGION, pipelineName: 'cfn-gitops-prod', appVersion: '2.0.0', requestKey: 'k' }));
    expect(started).toMatchObject({
      type: 'NotOwned',
      nonRetryable: true,
      message:
        'prod: StartPipelineExecution cfn-gitops-prod refused: this pipeline was not created by cfn-gitops for prod ' +
        '(it carries no cfn-gitops:environment tag): rename the environment or remove the pipeline',
    });
    const executions = (await aws.cp.send(new ListPipelineExecutionsCommand({ pipelineName: 'cfn-gitops-prod' }))).pipelineExecutionSummaries!;
    const stopped = await refusal(
      env.run(activities.stopPipelineExecution, { environment: 'prod', region: REGION, pipelineName: 'cfn-gitops-prod', executionId: executions[0]!.pipelineExecutionId!, reason: 'r', abandon: false }),
    );
    expect(stopped.message).toContain('prod: StopPipelineExecution cfn-gitops-prod refused: this pipeline was not created by cfn-gitops for prod');

    // AWS holds the stack as its owner left it: no write reached it, no change set was left behind.
    const after = await describe('cfn-gitops-prod-pipeline');
    expect(after).toMatchObject({ StackStatus: 'CREATE_COMPLETE', StackId: before.StackId, Parameters: before.Parameters });
    expect(after.LastUpdatedTime).toBeUndefined();
    expect(after.Tags ?? []).toEqual([]);
    expect((await aws.cfn.send(new ListChangeSetsCommand({ StackName: 'cfn-gitops-prod-pipeline' }))).Summaries ?? []).toEqual([]);
    expect(await writesTo('cfn-gitops-prod-pipeline')).toEqual([]);
    expect(await writesTo('cfn-gitops-prod')).toEqual([]);
    expect((await aws.cp.send(new ListPipelineExecutionsCommand({ pipelineName: 'cfn-gitops-prod' }))).pipelineExecutionSummaries).toHaveLength(1);
  });

  it("a stack tagged for another environment names that environment; one from another installation names both installations and the setting", async () => {
    await foreignPipelineStack('staging', [{ Key: 'cfn-gitops:environment', Value: 'qa' }]);
    const other = await refusal(env.run(activities.updateStack, change('staging', { InstanceType: 't3.small' })));
    expect(other).toMatchObject({
      type: 'NotOwned',
      message:
        'staging: UpdateStack cfn-gitops-staging-pipeline refused: this stack was not created by cfn-gitops for staging ' +
        '(its tag cfn-gitops:environment is "qa"): rename the environment or remove the stack',
    });
    const pipeline = await refusal(env.run(activities.startPipelineExecution, { environment: 'staging', region: REGION, pipelineName: 'cfn-gitops-staging', appVersion: '2.0.0', requestKey: 'k' }));
    expect(pipeline.message).toContain('(its tag cfn-gitops:environment is "qa")');

    await foreignPipelineStack('shared', [
      { Key: 'cfn-gitops:environment', Value: 'shared' },
      { Key: 'cfn-gitops:installation', Value: 'other-namespace/cfn-gitops' },
    ]);
    const installation = await refusal(env.run(activities.deleteStack, { environment: 'shared', region: REGION, stackName: 'cfn-gitops-shared-pipeline', requestKey: 'k' }));
    expect(installation).toMatchObject({
      type: 'NotOwned',
      message:
        'shared: DeleteStack cfn-gitops-shared-pipeline refused: this stack belongs to another cfn-gitops installation ' +
        `(tag cfn-gitops:installation is "other-namespace/cfn-gitops", this worker is "${INSTALLATION}"): ` +
        'deploy shared from that installation, or set CFN_GITOPS_INSTALLATION=other-namespace/cfn-gitops on this worker if it takes that installation over',
    });
    const started = await refusal(env.run(activities.startPipelineExecution, { environment: 'shared', region: REGION, pipelineName: 'cfn-gitops-shared', appVersion: '2.0.0', requestKey: 'k' }));
    expect(started.message).toContain('this pipeline belongs to another cfn-gitops installation');

    expect((await describe('cfn-gitops-staging-pipeline')).LastUpdatedTime).toBeUndefined();
    expect((await describe('cfn-gitops-shared-pipeline')).StackStatus).toBe('CREATE_COMPLETE');
    expect(await writesTo('cfn-gitops-staging-pipeline')).toEqual([]);
    expect(await writesTo('cfn-gitops-shared-pipeline')).toEqual([]);
    expect(await writesTo('cfn-gitops-staging')).toEqual([]);
    expect(await writesTo('cfn-gitops-shared')).toEqual([]);
  });

  it('a stack cfn-gitops created before installations were tagged is updated, gets the installation tag and keeps its other tags', async () => {
    await foreignPipelineStack('legacy', [
      { Key: 'cfn-gitops:environment', Value: 'legacy' },
      { Key: 'team', Value: 'payments' },
    ]);
    expect((await env.run(activities.inspectStack, change('legacy', { InstanceType: 't3.small' }))).needsUpdate).toBe(true);
    expect(await env.run(activities.updateStack, change('legacy', { InstanceType: 't3.small' }))).toBe(true);
    await env.run(activities.waitForStack, { environment: 'legacy', region: REGION, stackName: 'cfn-gitops-legacy-pipeline', operation: 'update' as const });
    const stack = await describe('cfn-gitops-legacy-pipeline');
    expect(Object.fromEntries(stack.Tags!.map((t) => [t.Key, t.Value]))).toEqual({ 'cfn-gitops:environment': 'legacy', 'cfn-gitops:installation': INSTALLATION, team: 'payments' });
    expect(await pipelineTags('cfn-gitops-legacy')).toMatchObject({ 'cfn-gitops:environment': 'legacy', 'cfn-gitops:installation': INSTALLATION, team: 'payments' });
  });

  it('the stacks cfn-gitops creates carry both tags, their pipeline too; it syncs, starts, and deletes the environment stack the pipeline made, then its own', async () => {
    await uploadSource(aws.s3, BUCKET, 'dev', ENVIRONMENT_TEMPLATE);
    expect((await env.run(activities.inspectStack, change('dev'))).stack).toBeNull();
    expect(await env.run(activities.previewStackChanges, change('dev'))).toEqual(['Add cfn-gitops-dev-pipeline: a new pipeline stack, whose pipeline then runs once by itself']);
    await env.run(activities.createStack, change('dev'));
    await env.run(activities.waitForStack, { environment: 'dev', region: REGION, stackName: 'cfn-gitops-dev-pipeline', operation: 'create' as const });
    const ours = { 'cfn-gitops:environment': 'dev', 'cfn-gitops:installation': INSTALLATION };
    expect(Object.fromEntries((await describe('cfn-gitops-dev-pipeline')).Tags!.map((t) => [t.Key, t.Value]))).toEqual(ours);
    expect(await pipelineTags('cfn-gitops-dev')).toMatchObject(ours);

    const pipeline = { environment: 'dev', region: REGION, pipelineName: 'cfn-gitops-dev' };
    const first = await env.run(activities.findInitialExecution, pipeline);
    await env.run(activities.waitForPipelineExecution, { ...pipeline, executionId: first });
    // The environment stack is the pipeline's: no cfn-gitops tags, EnvironmentName says dev.
    expect((await describe('cfn-gitops-dev')).Tags ?? []).toEqual([]);

    expect(await env.run(activities.previewStackChanges, change('dev', { InstanceType: 't3.small' }))).toEqual([
      'Modify Pipeline (AWS::CodePipeline::Pipeline): Properties',
    ]);
    expect(await env.run(activities.updateStack, change('dev', { InstanceType: 't3.small' }))).toBe(true);
    await env.run(activities.waitForStack, { environment: 'dev', region: REGION, stackName: 'cfn-gitops-dev-pipeline', operation: 'update' as const });
    const second = await env.run(activities.startPipelineExecution, { ...pipeline, appVersion: '1.1.0', requestKey: 'cfn-gitops/dev/2-sync' });
    expect((await env.run(activities.waitForPipelineExecution, { ...pipeline, executionId: second })).appVersion).toBe('1.1.0');

    for (const stackName of ['cfn-gitops-dev', 'cfn-gitops-dev-pipeline']) {
      await env.run(activities.deleteStack, { environment: 'dev', region: REGION, stackName, requestKey: `cfn-gitops/dev/3-delete/${stackName}` });
      expect(await env.run(activities.waitForStack, { environment: 'dev', region: REGION, stackName, operation: 'delete' as const })).toBeNull();
    }
    // Gone is done: a second delete asks nothing of CloudFormation.
    await env.run(activities.deleteStack, { environment: 'dev', region: REGION, stackName: 'cfn-gitops-dev', requestKey: 'again' });
    expect(await writesTo('cfn-gitops-dev')).toEqual(['StartPipelineExecution', 'DeleteStack']);
  });
});
