import {
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
  waitUntilStackCreateComplete,
  waitUntilStackDeleteComplete,
} from '@aws-sdk/client-cloudformation';
import {
  GetPipelineCommand,
  GetPipelineStateCommand,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  ListPipelinesCommand,
  PipelineNotFoundException,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import type { RunningEmulator } from '../../emulator';
import {
  clients,
  ENVIRONMENT_TEMPLATE,
  executionSettled,
  PIPELINE_TEMPLATE,
  pipelineParameters,
  stackSettled,
  startTestEmulator,
  uploadSource,
  waitFor,
  type Clients,
} from './helpers';

describe('the emulator runs the product flow end to end', () => {
  let emulator: RunningEmulator;
  let aws: Clients;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    aws = clients(emulator.url);
  });
  afterAll(async () => {
    await emulator.close();
  });

  it('creates the pipeline stack, runs the first execution by itself, deploys 2.0.0 and deletes both stacks', async () => {
    const bucket = 'cfn-gitops-artifacts';
    await uploadSource(aws.s3, bucket, 'dev', ENVIRONMENT_TEMPLATE);

    const created = await aws.cfn.send(
      new CreateStackCommand({
        StackName: 'cfn-gitops-dev-pipeline',
        TemplateBody: PIPELINE_TEMPLATE,
        Parameters: pipelineParameters('dev', bucket, '1.0.0'),
        Capabilities: ['CAPABILITY_IAM'],
        ClientRequestToken: 'create-dev-pipeline',
      }),
    );
    expect(created.StackId).toMatch(/^arn:aws:cloudformation:us-east-1:123456789012:stack\/cfn-gitops-dev-pipeline\/[0-9a-f-]{36}$/);

    const waited = await waitUntilStackCreateComplete(
      { client: aws.cfn, maxWaitTime: 20, minDelay: 1, maxDelay: 1 },
      { StackName: 'cfn-gitops-dev-pipeline' },
    );
    expect(waited.state).toBe('SUCCESS');
    const pipelineStack = (await aws.cfn.send(new DescribeStacksCommand({ StackName: 'cfn-gitops-dev-pipeline' }))).Stacks?.[0];
    expect(pipelineStack?.StackStatus).toBe('CREATE_COMPLETE');
    expect(pipelineStack?.Outputs).toEqual([{ OutputKey: 'PipelineName', OutputValue: 'cfn-gitops-dev' }]);
    expect(pipelineStack?.Parameters).toEqual(
      expect.arrayContaining([
        { ParameterKey: 'AppVersion', ParameterValue: '1.0.0' },
        { ParameterKey: 'InstanceType', ParameterValue: 't3.micro' },
      ]),
    );

    // The events read as AWS writes them: newest first, the stack's own first and last.
    const events = (await aws.cfn.send(new DescribeStackEventsCommand({ StackName: 'cfn-gitops-dev-pipeline' }))).StackEvents ?? [];
    const chronological = [...events].reverse();
    expect(chronological[0]).toMatchObject({
      LogicalResourceId: 'cfn-gitops-dev-pipeline',
      ResourceType: 'AWS::CloudFormation::Stack',
      ResourceStatus: 'CREATE_IN_PROGRESS',
      ResourceStatusReason: 'User Initiated',
      ClientRequestToken: 'create-dev-pipeline',
    });
    expect(events[0]).toMatchObject({ LogicalResourceId: 'cfn-gitops-dev-pipeline', ResourceStatus: 'CREATE_COMPLETE' });
    const order = chronological.filter((e) => e.ResourceStatus === 'CREATE_COMPLETE').map((e) => e.LogicalResourceId);
    expect(order.indexOf('Pipeline')).toBeGreaterThan(order.indexOf('PipelineRole'));
    expect(order.indexOf('Pipeline')).toBeGreaterThan(order.indexOf('CloudFormationRole'));

    const template = await aws.cfn.send(new GetTemplateCommand({ StackName: 'cfn-gitops-dev-pipeline' }));
    expect(template.TemplateBody).toBe(PIPELINE_TEMPLATE);

    // The pipeline exists, fully resolved.
    const { pipeline } = await aws.cp.send(new GetPipelineCommand({ name: 'cfn-gitops-dev' }));
    expect(pipeline?.pipelineType).toBe('V2');
    expect(pipeline?.executionMode).toBe('SUPERSEDED');
    expect(pipeline?.roleArn).toMatch(/^arn:aws:iam::123456789012:role\/cfn-gitops-dev-pipeline-PipelineRole-[A-Z0-9]{12}$/);
    expect(pipeline?.variables).toEqual([{ name: 'AppVersion', defaultValue: '1.0.0', description: 'Application version to deploy' }]);
    expect(pipeline?.stages?.[0].actions?.[0].configuration).toEqual({
      S3Bucket: bucket,
      S3ObjectKey: 'cfn-gitops/dev/source.zip',
      PollForSourceChanges: 'false',
    });
    expect(pipeline?.stages?.[1].actions?.[0].configuration?.ParameterOverrides).toBe(
      '{"AppVersion":"#{variables.AppVersion}","EnvironmentName":"dev","InstanceType":"t3.micro"}',
    );
    const listed = await aws.cp.send(new ListPipelinesCommand({}));
    expect(listed.pipelines?.map((p) => p.name)).toEqual(['cfn-gitops-dev']);

    // Its first execution started by itself and deploys the environment stack with 1.0.0.
    const first = await waitFor(
      () => aws.cp.send(new ListPipelineExecutionsCommand({ pipelineName: 'cfn-gitops-dev' })),
      (o) => (o.pipelineExecutionSummaries ?? []).length > 0,
    );
    const initial = first.pipelineExecutionSummaries?.[0];
    expect(initial?.trigger?.triggerType).toBe('CreatePipeline');
    const initialDone = await executionSettled(aws.cp, 'cfn-gitops-dev', initial?.pipelineExecutionId as string);
    expect(initialDone.status).toBe('Succeeded');
    expect(initialDone.variables).toEqual([{ name: 'AppVersion', resolvedValue: '1.0.0' }]);
    const env1 = (await aws.cfn.send(new DescribeStacksCommand({ StackName: 'cfn-gitops-dev-env' }))).Stacks?.[0];
    expect(env1?.StackStatus).toBe('CREATE_COMPLETE');
    expect(env1?.Parameters).toEqual(expect.arrayContaining([{ ParameterKey: 'AppVersion', ParameterValue: '1.0.0' }]));
    expect(env1?.RoleARN).toMatch(/:role\/cfn-gitops-dev-pipeline-CloudFormationRole-/);

    // A sync: StartPipelineExecution with AppVersion=2.0.0 updates the environment stack.
    const started = await aws.cp.send(
      new StartPipelineExecutionCommand({
        name: 'cfn-gitops-dev',
        variables: [{ name: 'AppVersion', value: '2.0.0' }],
        clientRequestToken: 'sync-dev-2.0.0',
      }),
    );
    const again = await aws.cp.send(
      new StartPipelineExecutionCommand({ name: 'cfn-gitops-dev', variables: [{ name: 'AppVersion', value: '2.0.0' }], clientRequestToken: 'sync-dev-2.0.0' }),
    );
    expect(again.pipelineExecutionId).toBe(started.pipelineExecutionId);
    const second = await executionSettled(aws.cp, 'cfn-gitops-dev', started.pipelineExecutionId as string);
    expect(second.status).toBe('Succeeded');
    expect(second.trigger?.triggerType).toBe('StartPipelineExecution');
    expect(second.artifactRevisions?.[0]?.name).toBe('SourceOutput');

    const env2 = (await aws.cfn.send(new DescribeStacksCommand({ StackName: 'cfn-gitops-dev-env' }))).Stacks?.[0];
    expect(env2?.StackStatus).toBe('UPDATE_COMPLETE');
    expect(env2?.Parameters).toEqual(
      expect.arrayContaining([
        { ParameterKey: 'AppVersion', ParameterValue: '2.0.0' },
        { ParameterKey: 'EnvironmentName', ParameterValue: 'dev' },
      ]),
    );
    expect(env2?.Outputs).toEqual(expect.arrayContaining([{ OutputKey: 'Version', OutputValue: '2.0.0' }]));

    const actions = await aws.cp.send(
      new ListActionExecutionsCommand({ pipelineName: 'cfn-gitops-dev', filter: { pipelineExecutionId: started.pipelineExecutionId } }),
    );
    const deployAction = actions.actionExecutionDetails?.find((a) => a.actionName === 'DeployEnvironment');
    expect(deployAction?.status).toBe('Succeeded');
    expect(deployAction?.input?.resolvedConfiguration?.ParameterOverrides).toBe(
      '{"AppVersion":"2.0.0","EnvironmentName":"dev","InstanceType":"t3.micro"}',
    );
    expect(deployAction?.output?.outputVariables?.Version).toBe('2.0.0');

    const state = await aws.cp.send(new GetPipelineStateCommand({ name: 'cfn-gitops-dev' }));
    expect(state.stageStates?.map((s) => [s.stageName, s.latestExecution?.status, s.latestExecution?.pipelineExecutionId])).toEqual([
      ['Source', 'Succeeded', started.pipelineExecutionId],
      ['Deploy', 'Succeeded', started.pipelineExecutionId],
    ]);

    // Deleting the environment: the environment stack first, then the pipeline stack.
    await aws.cfn.send(new DeleteStackCommand({ StackName: 'cfn-gitops-dev-env' }));
    const deleted = await waitUntilStackDeleteComplete({ client: aws.cfn, maxWaitTime: 20, minDelay: 1, maxDelay: 1 }, { StackName: 'cfn-gitops-dev-env' });
    expect(deleted.state).toBe('SUCCESS');
    const envGone = await stackSettled(aws.cfn, env2?.StackId as string);
    expect(envGone.StackStatus).toBe('DELETE_COMPLETE');
    await expect(aws.cfn.send(new DescribeStacksCommand({ StackName: 'cfn-gitops-dev-env' }))).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'Stack with id cfn-gitops-dev-env does not exist',
    });

    await aws.cfn.send(new DeleteStackCommand({ StackName: 'cfn-gitops-dev-pipeline' }));
    const pipelineGone = await stackSettled(aws.cfn, pipelineStack?.StackId as string);
    expect(pipelineGone.StackStatus).toBe('DELETE_COMPLETE');
    const error = await aws.cp.send(new GetPipelineCommand({ name: 'cfn-gitops-dev' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineNotFoundException);
  });
});
