import {
  ChangeSetNotFoundException,
  CreateChangeSetCommand,
  CreateStackCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStackDriftDetectionStatusCommand,
  DescribeStackEventsCommand,
  DescribeStackResourceDriftsCommand,
  DescribeStacksCommand,
  DetectStackDriftCommand,
  ExecuteChangeSetCommand,
  GetTemplateCommand,
  InvalidChangeSetStatusException,
  UpdateStackCommand,
  type DescribeChangeSetCommandOutput,
} from '@aws-sdk/client-cloudformation';
import type { RunningEmulator } from '../../emulator';
import { clients, control, FAST, stackSettled, startTestEmulator, waitFor, type Clients } from './helpers';

const V1 = `Parameters:
  Size: { Type: Number, Default: 1 }
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      DelaySeconds: !Ref Size
      Tags: [ { Key: team, Value: platform } ]
  Topic:
    Type: AWS::SNS::Topic
`;

describe('change sets and drift detection', () => {
  let emulator: RunningEmulator;
  let aws: Clients;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    aws = clients(emulator.url);
  });
  afterAll(async () => {
    await emulator.close();
  });

  async function changeSetReady(name: string, stackName: string): Promise<DescribeChangeSetCommandOutput> {
    return waitFor(
      () => aws.cfn.send(new DescribeChangeSetCommand({ ChangeSetName: name, StackName: stackName })),
      (o) => o.Status === 'CREATE_COMPLETE' || o.Status === 'FAILED',
    );
  }

  it('creates a stack through a CREATE change set', async () => {
    // Slow enough that the early execute below meets a change set still being created, however busy the machine.
    await control(emulator.url, 'PUT', '/timing', { changeSetMs: 3_000 });
    const created = await aws.cfn.send(
      new CreateChangeSetCommand({ StackName: 'cs', ChangeSetName: 'initial', ChangeSetType: 'CREATE', TemplateBody: V1, ClientToken: 'cs-1' }),
    );
    expect(created.Id).toMatch(/^arn:aws:cloudformation:us-east-1:123456789012:changeSet\/initial\/[0-9a-f-]{36}$/);
    const review = (await aws.cfn.send(new DescribeStacksCommand({ StackName: 'cs' }))).Stacks?.[0];
    expect(review?.StackStatus).toBe('REVIEW_IN_PROGRESS');
    const early = await aws.cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: created.Id })).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(InvalidChangeSetStatusException);
    await control(emulator.url, 'PUT', '/timing', { changeSetMs: FAST.changeSetMs });

    const ready = await changeSetReady('initial', 'cs');
    expect(ready).toMatchObject({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', StackId: created.StackId });
    expect(ready.Changes?.map((c) => [c.ResourceChange?.Action, c.ResourceChange?.LogicalResourceId, c.ResourceChange?.ResourceType])).toEqual([
      ['Add', 'Queue', 'AWS::SQS::Queue'],
      ['Add', 'Topic', 'AWS::SNS::Topic'],
    ]);
    const byArn = await aws.cfn.send(new GetTemplateCommand({ ChangeSetName: created.Id }));
    expect(byArn.TemplateBody).toBe(V1);

    await aws.cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: 'initial', StackName: 'cs', ClientRequestToken: 'exec-1' }));
    await aws.cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: 'initial', StackName: 'cs', ClientRequestToken: 'exec-1' }));
    const stack = await stackSettled(aws.cfn, 'cs');
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    expect(stack.ChangeSetId).toBe(created.Id);
    const events = (await aws.cfn.send(new DescribeStackEventsCommand({ StackName: 'cs' }))).StackEvents ?? [];
    expect(events[events.length - 1]).toMatchObject({ ResourceStatus: 'REVIEW_IN_PROGRESS', ResourceStatusReason: 'User Initiated' });
    expect(events.filter((e) => e.ResourceStatus === 'CREATE_IN_PROGRESS' && e.LogicalResourceId === 'cs')).toHaveLength(1);
    const executed = await aws.cfn.send(new DescribeChangeSetCommand({ ChangeSetName: created.Id }));
    expect(executed.ExecutionStatus).toBe('EXECUTE_COMPLETE');
  });

  it('describes the changes of an UPDATE change set, fails one without changes, and deletes change sets', async () => {
    await aws.cfn.send(new CreateStackCommand({ StackName: 'cs-upd', TemplateBody: V1 }));
    await stackSettled(aws.cfn, 'cs-upd');
    const v2 = V1.replace('  Topic:\n    Type: AWS::SNS::Topic\n', '  Topic:\n    Type: AWS::SNS::Topic\n    Properties: { TopicName: renamed }\n  Extra:\n    Type: AWS::SNS::Topic\n');
    await aws.cfn.send(
      new CreateChangeSetCommand({ StackName: 'cs-upd', ChangeSetName: 'bigger', TemplateBody: v2, Parameters: [{ ParameterKey: 'Size', ParameterValue: '5' }] }),
    );
    const ready = await changeSetReady('bigger', 'cs-upd');
    const changes = ready.Changes?.map((c) => c.ResourceChange);
    expect(changes?.map((c) => [c?.Action, c?.LogicalResourceId, c?.Replacement])).toEqual([
      ['Modify', 'Queue', 'False'],
      ['Modify', 'Topic', 'True'],
      ['Add', 'Extra', undefined],
    ]);
    expect(changes?.[0]?.Details?.[0]?.Target).toMatchObject({ Attribute: 'Properties', Name: 'DelaySeconds', RequiresRecreation: 'Never' });
    expect(ready.Parameters).toEqual([{ ParameterKey: 'Size', ParameterValue: '5' }]);

    await aws.cfn.send(new CreateChangeSetCommand({ StackName: 'cs-upd', ChangeSetName: 'same', UsePreviousTemplate: true }));
    const same = await changeSetReady('same', 'cs-upd');
    expect(same).toMatchObject({
      Status: 'FAILED',
      ExecutionStatus: 'UNAVAILABLE',
      StatusReason: "The submitted information didn't contain changes. Submit different information to create a change set.",
    });
    await aws.cfn.send(new DeleteChangeSetCommand({ ChangeSetName: 'same', StackName: 'cs-upd' }));
    await expect(aws.cfn.send(new DescribeChangeSetCommand({ ChangeSetName: 'same', StackName: 'cs-upd' }))).rejects.toThrow(ChangeSetNotFoundException);
    await expect(
      aws.cfn.send(new CreateChangeSetCommand({ StackName: 'nowhere', ChangeSetName: 'x', TemplateBody: V1 })),
    ).rejects.toMatchObject({ name: 'ValidationError', message: 'Stack [nowhere] does not exist' });

    await aws.cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: 'bigger', StackName: 'cs-upd' }));
    const stack = await stackSettled(aws.cfn, 'cs-upd');
    expect(stack.StackStatus).toBe('UPDATE_COMPLETE');
    expect(stack.Parameters).toEqual([{ ParameterKey: 'Size', ParameterValue: '5' }]);
  });

  it('detects drift: a changed property and a resource deleted out of band', async () => {
    await aws.cfn.send(new CreateStackCommand({ StackName: 'drifty', TemplateBody: V1 }));
    await stackSettled(aws.cfn, 'drifty');
    const detect = async (): Promise<void> => {
      const { StackDriftDetectionId } = await aws.cfn.send(new DetectStackDriftCommand({ StackName: 'drifty' }));
      const first = await aws.cfn.send(new DescribeStackDriftDetectionStatusCommand({ StackDriftDetectionId }));
      expect(first.DetectionStatus).toBe('DETECTION_IN_PROGRESS');
      await waitFor(
        () => aws.cfn.send(new DescribeStackDriftDetectionStatusCommand({ StackDriftDetectionId })),
        (o) => o.DetectionStatus === 'DETECTION_COMPLETE',
      );
    };
    await detect();
    let stack = (await aws.cfn.send(new DescribeStacksCommand({ StackName: 'drifty' }))).Stacks?.[0];
    expect(stack?.DriftInformation?.StackDriftStatus).toBe('IN_SYNC');

    await control(emulator.url, 'POST', '/drift', { stackName: 'drifty', logicalResourceId: 'Queue', property: 'Tags/0/Value', value: 'someone-else' });
    await control(emulator.url, 'POST', '/drift', { stackName: 'drifty', logicalResourceId: 'Topic', deleted: true });
    await detect();
    stack = (await aws.cfn.send(new DescribeStacksCommand({ StackName: 'drifty' }))).Stacks?.[0];
    expect(stack?.DriftInformation?.StackDriftStatus).toBe('DRIFTED');
    const drifts = (await aws.cfn.send(new DescribeStackResourceDriftsCommand({ StackName: 'drifty' }))).StackResourceDrifts ?? [];
    const queue = drifts.find((d) => d.LogicalResourceId === 'Queue');
    expect(queue?.StackResourceDriftStatus).toBe('MODIFIED');
    expect(queue?.PropertyDifferences).toEqual([
      { PropertyPath: '/Tags/0/Value', ExpectedValue: 'platform', ActualValue: 'someone-else', DifferenceType: 'NOT_EQUAL' },
    ]);
    expect(JSON.parse(queue?.ExpectedProperties as string)).toEqual({ DelaySeconds: '1', Tags: [{ Key: 'team', Value: 'platform' }] });
    expect(drifts.find((d) => d.LogicalResourceId === 'Topic')?.StackResourceDriftStatus).toBe('DELETED');
    const onlyModified = await aws.cfn.send(new DescribeStackResourceDriftsCommand({ StackName: 'drifty', StackResourceDriftStatusFilters: ['MODIFIED'] }));
    expect(onlyModified.StackResourceDrifts?.map((d) => d.LogicalResourceId)).toEqual(['Queue']);

    // An update of a resource deleted out of band fails as AWS's handler would; the stack rolls back.
    await aws.cfn.send(
      new UpdateStackCommand({ StackName: 'drifty', TemplateBody: V1.replace('    Type: AWS::SNS::Topic\n', '    Type: AWS::SNS::Topic\n    Properties: { DisplayName: t }\n') }),
    );
    const rolled = await stackSettled(aws.cfn, 'drifty');
    expect(rolled.StackStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    const failed = (await aws.cfn.send(new DescribeStackEventsCommand({ StackName: 'drifty' }))).StackEvents?.find((e) => e.ResourceStatus === 'UPDATE_FAILED');
    expect(failed?.ResourceStatusReason).toMatch(/^Resource handler returned message: "Resource of type 'AWS::SNS::Topic' with identifier '.+' was not found\." \(HandlerErrorCode: NotFound\)$/);
  });
});
