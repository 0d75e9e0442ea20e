import {
  AlreadyExistsException,
  CloudFormationServiceException,
  ContinueUpdateRollbackCommand,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
  InsufficientCapabilitiesException,
  TokenAlreadyExistsException,
  ListStacksCommand,
  UpdateStackCommand,
  ValidateTemplateCommand,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import type { OperationRecord, RunningEmulator } from '../../emulator';
import { clients, control, stackSettled, startTestEmulator, type Clients } from './helpers';

const BUCKETS = `Parameters:
  Env: { Type: String, AllowedValues: [dev, prod] }
  Secret: { Type: String, NoEcho: true, Default: hunter2 }
  Size: { Type: Number, Default: 2 }
Resources:
  Data:
    Type: AWS::S3::Bucket
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub '\${AWS::StackName}-\${Env}'
Outputs:
  QueueUrl: { Value: !Ref Queue }
`;

function statuses(events: StackEvent[]): string[] {
  return [...events].reverse().map((e) => `${e.LogicalResourceId}:${e.ResourceStatus}`);
}

async function events(aws: Clients, stackName: string): Promise<StackEvent[]> {
  return (await aws.cfn.send(new DescribeStackEventsCommand({ StackName: stackName }))).StackEvents ?? [];
}

describe('CloudFormation over the query protocol', () => {
  let emulator: RunningEmulator;
  let aws: Clients;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    aws = clients(emulator.url);
  });
  afterAll(async () => {
    await emulator.close();
  });

  it('resolves short-form intrinsics, conditions, mappings and pseudo parameters', async () => {
    const template = `AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Env: { Type: String, Default: prod }
  Zones: { Type: CommaDelimitedList, Default: 'a,b,c' }
Mappings:
  Sizes:
    prod: { Instance: m5.large }
    dev: { Instance: t3.micro }
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Or [!Equals [a, a], !Equals [a, b]]]
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Join ['-', [!Ref 'AWS::StackName', !Select [1, !Ref Zones], !FindInMap [Sizes, !Ref Env, Instance]]]
  DevOnly:
    Type: AWS::SNS::Topic
    Condition: NotProd
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
      Description: !If [IsProd, !Sub '\${AWS::Region}/\${AWS::AccountId}/\${!Literal}', !Ref 'AWS::NoValue']
Outputs:
  TopicArn: { Value: !Ref Topic }
  TopicName: { Value: !GetAtt Topic.TopicName, Export: { Name: !Sub '\${AWS::StackName}-topic' } }
  Split: { Value: !Select [2, !Split [',', 'x,y,z']] }
  Azs: { Value: !Join [',', !GetAZs ''] }
  Both: { Value: !If [Both, yes, no] }
  RoleArn: { Value: !GetAtt Role.Arn }
  Encoded: { Value: !Base64 hello }
`;
    await aws.cfn.send(
      new CreateStackCommand({ StackName: 'intrinsics', TemplateBody: template, Capabilities: ['CAPABILITY_IAM'] }),
    );
    const stack = await stackSettled(aws.cfn, 'intrinsics');
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    const outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
    expect(outputs).toMatchObject({
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:intrinsics-b-m5.large',
      TopicName: 'intrinsics-b-m5.large',
      Split: 'z',
      Azs: 'us-east-1a,us-east-1b,us-east-1c',
      Both: 'yes',
      Encoded: 'aGVsbG8=',
    });
    expect(outputs.RoleArn).toMatch(/^arn:aws:iam::123456789012:role\/intrinsics-Role-[A-Z0-9]{12}$/);
    expect(stack.Outputs?.find((o) => o.OutputKey === 'TopicName')?.ExportName).toBe('intrinsics-topic');
    const resources = await aws.cfn.send(new DescribeStackResourcesCommand({ StackName: 'intrinsics' }));
    expect(resources.StackResources?.map((r) => r.LogicalResourceId).sort()).toEqual(['Role', 'Topic']);
    const roleEvent = (await events(aws, 'intrinsics')).find((e) => e.LogicalResourceId === 'Role' && e.ResourceProperties);
    expect(JSON.parse(roleEvent?.ResourceProperties as string)).toEqual({
      AssumeRolePolicyDocument: {},
      Description: 'us-east-1/123456789012/${Literal}',
    });
  });

  it('refuses templates that do not parse and parameters that are missing, unknown or not allowed', async () => {
    const cases: [string, Partial<ConstructorParameters<typeof CreateStackCommand>[0]>, string][] = [
      ['bad-yaml', { TemplateBody: 'Resources:\n  A: [1, 2\n  B: c: d' }, 'Template format error: YAML not well-formed. (line 3, column 3)'],
      ['bad-json', { TemplateBody: '{"Resources": {"A": }' }, 'Template format error: JSON not well-formed. (line 1, column 21)'],
      ['no-resources', { TemplateBody: 'Parameters: {}' }, 'Template format error: At least one Resources member must be defined.'],
      ['unknown-tag', { TemplateBody: 'Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Nope x' }, 'Template format error: YAML not well-formed. Unknown tag !Nope'],
      [
        'dangling-ref',
        { TemplateBody: 'Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Ref Missing' },
        'Template format error: Unresolved resource dependencies [Missing] in the Resources block of the template',
      ],
      ['missing-param', { TemplateBody: BUCKETS }, 'Parameters: [Env] must have values'],
      [
        'unknown-param',
        { TemplateBody: BUCKETS, Parameters: [{ ParameterKey: 'Env', ParameterValue: 'dev' }, { ParameterKey: 'Colour', ParameterValue: 'blue' }] },
        'Parameters: [Colour] do not exist in the template',
      ],
      ['not-allowed', { TemplateBody: BUCKETS, Parameters: [{ ParameterKey: 'Env', ParameterValue: 'qa' }] }, "Parameter 'Env' must be one of AllowedValues"],
      [
        'not-a-number',
        { TemplateBody: BUCKETS, Parameters: [{ ParameterKey: 'Env', ParameterValue: 'dev' }, { ParameterKey: 'Size', ParameterValue: 'big' }] },
        "Parameter 'Size' must be a number.",
      ],
      ['bad_name', { TemplateBody: BUCKETS }, "1 validation error detected: Value 'bad_name' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*|arn:[-a-zA-Z0-9:/._+]*"],
    ];
    for (const [name, input, message] of cases) {
      const error = await aws.cfn.send(new CreateStackCommand({ StackName: name, ...input })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CloudFormationServiceException);
      expect(error).toMatchObject({ name: 'ValidationError', message, $metadata: { httpStatusCode: 400 } });
      expect((error as CloudFormationServiceException).$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
    const listed = await aws.cfn.send(new ListStacksCommand({}));
    expect(listed.StackSummaries?.map((s) => s.StackName)).not.toContain('missing-param');
  });

  it('asks for capabilities, refuses a second stack of the same name and masks NoEcho values', async () => {
    const iam = 'Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties: { AssumeRolePolicyDocument: {}, RoleName: fixed }\n';
    await expect(aws.cfn.send(new CreateStackCommand({ StackName: 'needs-caps', TemplateBody: iam, Capabilities: ['CAPABILITY_IAM'] }))).rejects.toThrow(
      InsufficientCapabilitiesException,
    );
    await expect(aws.cfn.send(new CreateStackCommand({ StackName: 'needs-caps', TemplateBody: iam }))).rejects.toMatchObject({
      name: 'InsufficientCapabilitiesException',
      message: 'Requires capabilities : [CAPABILITY_NAMED_IAM]',
    });

    await aws.cfn.send(new CreateStackCommand({ StackName: 'buckets', TemplateBody: BUCKETS, Parameters: [{ ParameterKey: 'Env', ParameterValue: 'dev' }] }));
    const duplicate = await aws.cfn
      .send(new CreateStackCommand({ StackName: 'buckets', TemplateBody: BUCKETS, Parameters: [{ ParameterKey: 'Env', ParameterValue: 'dev' }] }))
      .catch((e: unknown) => e);
    expect(duplicate).toBeInstanceOf(AlreadyExistsException);
    expect(duplicate).toMatchObject({ message: 'Stack [buckets] already exists' });
    const stack = await stackSettled(aws.cfn, 'buckets');
    expect(stack.Parameters).toEqual(
      expect.arrayContaining([
        { ParameterKey: 'Secret', ParameterValue: '****' },
        { ParameterKey: 'Size', ParameterValue: '2' },
      ]),
    );
    const queue = (await aws.cfn.send(new DescribeStackResourcesCommand({ StackName: 'buckets', LogicalResourceId: 'Queue' }))).StackResources?.[0];
    expect(queue?.PhysicalResourceId).toBe('https://sqs.us-east-1.amazonaws.com/123456789012/buckets-dev');
    const byPhysical = await aws.cfn.send(new DescribeStackResourcesCommand({ PhysicalResourceId: queue?.PhysicalResourceId }));
    expect(byPhysical.StackResources?.map((r) => r.LogicalResourceId)).toEqual(['Queue']);
  });

  it('validates a template and returns its parameters and capabilities', async () => {
    const out = await aws.cfn.send(
      new ValidateTemplateCommand({ TemplateBody: `Description: hi\n${BUCKETS}Transform: AWS::LanguageExtensions\n`.replace('Resources:', 'Resources:\n  Role: { Type: AWS::IAM::Role, Properties: { AssumeRolePolicyDocument: {} } }') }),
    );
    expect(out.Description).toBe('hi');
    expect(out.Parameters).toEqual([
      { ParameterKey: 'Env', NoEcho: false },
      { ParameterKey: 'Secret', DefaultValue: 'hunter2', NoEcho: true },
      { ParameterKey: 'Size', DefaultValue: '2', NoEcho: false },
    ]);
    expect(out.Capabilities).toEqual(['CAPABILITY_IAM']);
    expect(out.CapabilitiesReason).toBe('The following resource(s) require capabilities: [AWS::IAM::Role]');
    expect(out.DeclaredTransforms).toEqual(['AWS::LanguageExtensions']);
  });

  it('makes a retried create with the same ClientRequestToken a no-op', async () => {
    const input = {
      StackName: 'idempotent',
      TemplateBody: BUCKETS,
      Parameters: [{ ParameterKey: 'Env', ParameterValue: 'prod' }],
      ClientRequestToken: 'token-1',
    };
    const first = await aws.cfn.send(new CreateStackCommand(input));
    const second = await aws.cfn.send(new CreateStackCommand(input));
    expect(second.StackId).toBe(first.StackId);
    await stackSettled(aws.cfn, 'idempotent');
    const third = await aws.cfn.send(new CreateStackCommand(input));
    expect(third.StackId).toBe(first.StackId);
    const { operations } = await control<{ operations: OperationRecord[] }>(emulator.url, 'GET', '/operations?target=idempotent');
    expect(operations).toEqual([expect.objectContaining({ operation: 'CREATE_STACK', status: 'CREATE_COMPLETE', clientRequestToken: 'token-1' })]);
    const all = await events(aws, 'idempotent');
    expect(all.every((e) => e.ClientRequestToken === 'token-1')).toBe(true);
    // A token belongs to one call: reusing it for another one is refused.
    await expect(
      aws.cfn.send(new UpdateStackCommand({ StackName: 'idempotent', UsePreviousTemplate: true, Parameters: [{ ParameterKey: 'Env', ParameterValue: 'dev' }], ClientRequestToken: 'token-1' })),
    ).rejects.toThrow(TokenAlreadyExistsException);
  });

  it('updates a stack, says when there is nothing to update, and refuses an update while one runs', async () => {
    await aws.cfn.send(new CreateStackCommand({ StackName: 'upd', TemplateBody: BUCKETS, Parameters: [{ ParameterKey: 'Env', ParameterValue: 'dev' }] }));
    const created = await stackSettled(aws.cfn, 'upd');
    await expect(
      aws.cfn.send(new UpdateStackCommand({ StackName: 'upd', UsePreviousTemplate: true, Parameters: [{ ParameterKey: 'Env', UsePreviousValue: true }] })),
    ).rejects.toMatchObject({ name: 'ValidationError', message: 'No updates are to be performed.' });

    const smaller = BUCKETS.replace(/ {2}Data:\n {4}Type: AWS::S3::Bucket\n/, '');
    await control(emulator.url, 'POST', '/stacks/next-operations', { stackName: 'upd', operation: 'UPDATE', delayMs: 600 });
    const updated = await aws.cfn.send(
      new UpdateStackCommand({ StackName: 'upd', TemplateBody: smaller, Parameters: [{ ParameterKey: 'Env', ParameterValue: 'prod' }], ClientRequestToken: 'u1' }),
    );
    expect(updated.StackId).toBe(created.StackId);
    await expect(
      aws.cfn.send(new UpdateStackCommand({ StackName: 'upd', TemplateBody: BUCKETS, Parameters: [{ ParameterKey: 'Env', ParameterValue: 'dev' }] })),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      message: `Stack:${created.StackId} is in UPDATE_IN_PROGRESS state and can not be updated.`,
    });
    await expect(aws.cfn.send(new DeleteStackCommand({ StackName: 'upd' }))).rejects.toMatchObject({
      message: `Stack [${created.StackId}] cannot be deleted while in status UPDATE_IN_PROGRESS`,
    });
    const done = await stackSettled(aws.cfn, 'upd');
    expect(done.StackStatus).toBe('UPDATE_COMPLETE');
    expect(done.Parameters).toEqual(expect.arrayContaining([{ ParameterKey: 'Env', ParameterValue: 'prod' }]));
    expect(done.LastUpdatedTime).toBeInstanceOf(Date);
    // The queue's name changes, so it is replaced: created anew, the old one deleted in cleanup.
    const updateEvents = await events(aws, 'upd');
    expect(statuses(updateEvents).slice(-9)).toEqual([
      'upd:UPDATE_IN_PROGRESS',
      'Queue:UPDATE_IN_PROGRESS',
      'Queue:UPDATE_COMPLETE',
      'upd:UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
      'Queue:DELETE_IN_PROGRESS',
      'Queue:DELETE_COMPLETE',
      'Data:DELETE_IN_PROGRESS',
      'Data:DELETE_COMPLETE',
      'upd:UPDATE_COMPLETE',
    ]);
    expect(updateEvents.find((e) => e.LogicalResourceId === 'Queue' && e.ResourceStatus === 'UPDATE_IN_PROGRESS')?.ResourceStatusReason).toBe(
      'Requested update requires the creation of a new physical resource; hence creating one.',
    );
    expect(updateEvents.find((e) => e.LogicalResourceId === 'Queue' && e.ResourceStatus === 'DELETE_COMPLETE')?.PhysicalResourceId).toBe(
      'https://sqs.us-east-1.amazonaws.com/123456789012/upd-dev',
    );
    const queue = (await aws.cfn.send(new DescribeStackResourcesCommand({ StackName: 'upd' }))).StackResources;
    expect(queue?.map((r) => [r.LogicalResourceId, r.PhysicalResourceId])).toEqual([
      ['Queue', 'https://sqs.us-east-1.amazonaws.com/123456789012/upd-prod'],
    ]);
    const template = await aws.cfn.send(new GetTemplateCommand({ StackName: 'upd' }));
    expect(template.TemplateBody).toBe(smaller);
  });

  it('rolls back a failed create to ROLLBACK_COMPLETE, or stops at CREATE_FAILED when asked', async () => {
    await control(emulator.url, 'POST', '/stacks/next-operations', {
      stackName: 'broken',
      failAt: { logicalResourceId: 'Queue', reason: 'Resource handler returned message: "Queue quota exceeded"' },
    });
    await aws.cfn.send(new CreateStackCommand({ StackName: 'broken', TemplateBody: BUCKETS, Parameters: [{ ParameterKey: 'Env', ParameterValue: 'dev' }] }));
    const stack = await stackSettled(aws.cfn, 'broken');
    expect(stack.StackStatus).toBe('ROLLBACK_COMPLETE');
    const all = await events(aws, 'broken');
    expect(statuses(all)).toEqual([
      'broken:CREATE_IN_PROGRESS',
      'Data:CREATE_IN_PROGRESS',
      'Data:CREATE_COMPLETE',
      'Queue:CREATE_IN_PROGRESS',
      'Queue:CREATE_FAILED',
      'broken:ROLLBACK_IN_PROGRESS',
      'Queue:DELETE_IN_PROGRESS',
      'Queue:DELETE_COMPLETE',
      'Data:DELETE_IN_PROGRESS',
      'Data:DELETE_COMPLETE',
      'broken:ROLLBACK_COMPLETE',
    ]);
    expect(all.find((e) => e.ResourceStatus === 'CREATE_FAILED')?.ResourceStatusReason).toBe('Resource handler returned message: "Queue quota exceeded"');
    expect(all.find((e) => e.ResourceStatus === 'ROLLBACK_IN_PROGRESS')?.ResourceStatusReason).toBe(
      'The following resource(s) failed to create: [Queue]. Rollback requested by user.',
    );
    await expect(
      aws.cfn.send(new UpdateStackCommand({ StackName: 'broken', UsePreviousTemplate: true, Parameters: [{ ParameterKey: 'Env', ParameterValue: 'prod' }] })),
    ).rejects.toMatchObject({ message: `Stack:${stack.StackId} is in ROLLBACK_COMPLETE state and can not be updated.` });
    await expect(
      aws.cfn.send(new CreateStackCommand({ StackName: 'broken', TemplateBody: BUCKETS, Parameters: [{ ParameterKey: 'Env', ParameterValue: 'dev' }] })),
    ).rejects.toThrow(AlreadyExistsException);

    await control(emulator.url, 'POST', '/stacks/next-operations', { stackName: 'kept', failAt: {} });
    await aws.cfn.send(
      new CreateStackCommand({ StackName: 'kept', TemplateBody: BUCKETS, Parameters: [{ ParameterKey: 'Env', ParameterValue: 'dev' }], OnFailure: 'DO_NOTHING' }),
    );
    const kept = await stackSettled(aws.cfn, 'kept');
    expect(kept.StackStatus).toBe('CREATE_FAILED');
    expect(kept.StackStatusReason).toBe('The following resource(s) failed to create: [Data]. ');
  });

  it('rolls back a failed update, and continues a rollback that failed', async () => {
    const params = (env: string) => [{ ParameterKey: 'Env', ParameterValue: env }];
    await aws.cfn.send(new CreateStackCommand({ StackName: 'rb', TemplateBody: BUCKETS, Parameters: params('dev') }));
    await stackSettled(aws.cfn, 'rb');

    await control(emulator.url, 'POST', '/stacks/next-operations', { stackName: 'rb', operation: 'UPDATE', failAt: { logicalResourceId: 'Queue', reason: 'boom' } });
    await aws.cfn.send(new UpdateStackCommand({ StackName: 'rb', UsePreviousTemplate: true, Parameters: params('prod') }));
    const rolledBack = await stackSettled(aws.cfn, 'rb');
    expect(rolledBack.StackStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(rolledBack.Parameters).toEqual(expect.arrayContaining(params('dev')));
    const reasons = (await events(aws, 'rb')).filter((e) => e.ResourceStatus === 'UPDATE_ROLLBACK_IN_PROGRESS').map((e) => e.ResourceStatusReason);
    expect(reasons).toEqual(['The following resource(s) failed to update: [Queue]. ']);

    await control(emulator.url, 'POST', '/stacks/next-operations', { stackName: 'rb', operation: 'UPDATE', endIn: 'UPDATE_ROLLBACK_FAILED' });
    await aws.cfn.send(new UpdateStackCommand({ StackName: 'rb', UsePreviousTemplate: true, Parameters: params('prod') }));
    const stuck = await stackSettled(aws.cfn, 'rb');
    expect(stuck.StackStatus).toBe('UPDATE_ROLLBACK_FAILED');
    await expect(aws.cfn.send(new UpdateStackCommand({ StackName: 'rb', UsePreviousTemplate: true, Parameters: params('prod') }))).rejects.toMatchObject({
      message: `Stack:${stuck.StackId} is in UPDATE_ROLLBACK_FAILED state and can not be updated.`,
    });
    await aws.cfn.send(new ContinueUpdateRollbackCommand({ StackName: 'rb', ClientRequestToken: 'continue-1' }));
    const continued = await stackSettled(aws.cfn, 'rb');
    expect(continued.StackStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(continued.Parameters).toEqual(expect.arrayContaining(params('dev')));
    await expect(aws.cfn.send(new ContinueUpdateRollbackCommand({ StackName: 'rb' }))).rejects.toMatchObject({ name: 'ValidationError' });
    // After a completed rollback the stack can be updated again.
    await aws.cfn.send(new UpdateStackCommand({ StackName: 'rb', UsePreviousTemplate: true, Parameters: params('prod') }));
    expect((await stackSettled(aws.cfn, 'rb')).StackStatus).toBe('UPDATE_COMPLETE');
  });

  it('ends a failed delete in DELETE_FAILED and deletes on the next try; deleted stacks stay listed', async () => {
    await aws.cfn.send(new CreateStackCommand({ StackName: 'del', TemplateBody: BUCKETS, Parameters: [{ ParameterKey: 'Env', ParameterValue: 'dev' }] }));
    const created = await stackSettled(aws.cfn, 'del');
    await control(emulator.url, 'POST', '/stacks/next-operations', { stackName: 'del', operation: 'DELETE', endIn: 'DELETE_FAILED' });
    await aws.cfn.send(new DeleteStackCommand({ StackName: 'del' }));
    const failed = await stackSettled(aws.cfn, 'del');
    expect(failed.StackStatus).toBe('DELETE_FAILED');
    expect(failed.StackStatusReason).toBe('The following resource(s) failed to delete: [Queue]. ');

    await aws.cfn.send(new DeleteStackCommand({ StackName: 'del', ClientRequestToken: 'd2' }));
    await aws.cfn.send(new DeleteStackCommand({ StackName: 'del', ClientRequestToken: 'd2' }));
    const gone = await stackSettled(aws.cfn, created.StackId as string);
    expect(gone.StackStatus).toBe('DELETE_COMPLETE');
    expect(gone.DeletionTime).toBeInstanceOf(Date);
    // Deleting a stack that does not exist succeeds, as on AWS.
    await aws.cfn.send(new DeleteStackCommand({ StackName: 'del' }));
    await expect(aws.cfn.send(new DescribeStacksCommand({ StackName: 'del' }))).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'Stack with id del does not exist',
    });
    const deleted = await aws.cfn.send(new ListStacksCommand({ StackStatusFilter: ['DELETE_COMPLETE'] }));
    expect(deleted.StackSummaries?.map((s) => s.StackId)).toContain(created.StackId);
    const live = await aws.cfn.send(new DescribeStacksCommand({}));
    expect(live.Stacks?.map((s) => s.StackName)).not.toContain('del');
  });

  it('keeps regions apart: the signing region decides where a stack lives', async () => {
    const eu = clients(emulator.url, 'eu-west-1');
    const out = await eu.cfn.send(new CreateStackCommand({ StackName: 'regional', TemplateBody: 'Resources:\n  T: { Type: AWS::SNS::Topic }\n' }));
    expect(out.StackId).toMatch(/^arn:aws:cloudformation:eu-west-1:123456789012:stack\/regional\//);
    const stack = await stackSettled(eu.cfn, 'regional');
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    await expect(aws.cfn.send(new DescribeStacksCommand({ StackName: 'regional' }))).rejects.toMatchObject({ name: 'ValidationError' });
    const topic = (await eu.cfn.send(new DescribeStackResourcesCommand({ StackName: 'regional' }))).StackResources?.[0];
    expect(topic?.PhysicalResourceId).toMatch(/^arn:aws:sns:eu-west-1:123456789012:regional-T-/);
  });

  it('cancels a create that DeleteStack interrupts and deletes what it made', async () => {
    await control(emulator.url, 'POST', '/stacks/next-operations', { stackName: 'interrupted', operation: 'CREATE', delayMs: 1000 });
    const created = await aws.cfn.send(
      new CreateStackCommand({ StackName: 'interrupted', TemplateBody: BUCKETS, Parameters: [{ ParameterKey: 'Env', ParameterValue: 'dev' }] }),
    );
    await new Promise((r) => setTimeout(r, 450));
    await aws.cfn.send(new DeleteStackCommand({ StackName: 'interrupted' }));
    const gone = await stackSettled(aws.cfn, created.StackId as string);
    expect(gone.StackStatus).toBe('DELETE_COMPLETE');
    const all = statuses(await events(aws, created.StackId as string));
    expect(all).toContain('interrupted:CREATE_FAILED');
    expect(all.indexOf('Data:DELETE_COMPLETE')).toBeGreaterThan(all.indexOf('interrupted:DELETE_IN_PROGRESS'));
    const { operations } = await control<{ operations: OperationRecord[] }>(emulator.url, 'GET', '/operations?target=interrupted');
    expect(operations.map((o) => [o.operation, o.status])).toEqual([
      ['CREATE_STACK', 'CREATE_FAILED'],
      ['DELETE_STACK', 'DELETE_COMPLETE'],
    ]);
  });
});
