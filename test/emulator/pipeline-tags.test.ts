import { CreateStackCommand, DescribeStacksCommand, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { GetPipelineCommand, InvalidArnException, ListTagsForResourceCommand, ResourceNotFoundException } from '@aws-sdk/client-codepipeline';
import type { RunningEmulator } from '../../emulator';
import { clients, PIPELINE_TEMPLATE, pipelineParameters, stackSettled, startTestEmulator, type Clients } from './helpers';

/** CodePipeline ListTagsForResource: the tags CloudFormation propagates from a stack to its pipeline. */
describe('CodePipeline ListTagsForResource', () => {
  let emulator: RunningEmulator;
  let aws: Clients;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    aws = clients(emulator.url);
  });
  afterAll(async () => {
    await emulator.close();
  });

  async function tagsOf(pipelineName: string): Promise<Record<string, string>> {
    const arn = (await aws.cp.send(new GetPipelineCommand({ name: pipelineName }))).metadata!.pipelineArn!;
    const out = await aws.cp.send(new ListTagsForResourceCommand({ resourceArn: arn }));
    return Object.fromEntries((out.tags ?? []).map((t) => [t.key!, t.value!]));
  }

  it("lists the stack's tags, the aws:cloudformation ones and the resource's own, which win on a shared key; a tags-only update shows at once", async () => {
    const template = PIPELINE_TEMPLATE.replace(
      '      PipelineType: V2\n',
      "      PipelineType: V2\n      Tags:\n        - { Key: owner, Value: resource }\n        - { Key: cost-center, Value: '42' }\n",
    );
    expect(template).not.toBe(PIPELINE_TEMPLATE);
    await aws.cfn.send(
      new CreateStackCommand({
        StackName: 'cfn-gitops-tagged-pipeline',
        TemplateBody: template,
        Parameters: pipelineParameters('tagged', 'tag-tests'),
        Capabilities: ['CAPABILITY_IAM'],
        Tags: [
          { Key: 'cfn-gitops:environment', Value: 'tagged' },
          { Key: 'owner', Value: 'stack' },
        ],
      }),
    );
    const stack = await stackSettled(aws.cfn, 'cfn-gitops-tagged-pipeline');
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    expect(await tagsOf('cfn-gitops-tagged')).toEqual({
      'aws:cloudformation:stack-name': 'cfn-gitops-tagged-pipeline',
      'aws:cloudformation:stack-id': stack.StackId,
      'aws:cloudformation:logical-id': 'Pipeline',
      'cfn-gitops:environment': 'tagged',
      owner: 'resource',
      'cost-center': '42',
    });

    await aws.cfn.send(
      new UpdateStackCommand({
        StackName: 'cfn-gitops-tagged-pipeline',
        UsePreviousTemplate: true,
        Capabilities: ['CAPABILITY_IAM'],
        Parameters: pipelineParameters('tagged', 'tag-tests').map((p) => ({ ParameterKey: p.ParameterKey, UsePreviousValue: true })),
        Tags: [{ Key: 'cfn-gitops:environment', Value: 'renamed' }],
      }),
    );
    expect((await stackSettled(aws.cfn, 'cfn-gitops-tagged-pipeline')).StackStatus).toBe('UPDATE_COMPLETE');
    const tags = await tagsOf('cfn-gitops-tagged');
    expect(tags['cfn-gitops:environment']).toBe('renamed');
    expect(tags.owner).toBe('resource');
  });

  it('a pipeline whose stack has no tags lists only the aws:cloudformation ones', async () => {
    await aws.cfn.send(
      new CreateStackCommand({
        StackName: 'cfn-gitops-plain-pipeline',
        TemplateBody: PIPELINE_TEMPLATE,
        Parameters: pipelineParameters('plain', 'tag-tests'),
        Capabilities: ['CAPABILITY_IAM'],
      }),
    );
    await stackSettled(aws.cfn, 'cfn-gitops-plain-pipeline');
    const stackId = (await aws.cfn.send(new DescribeStacksCommand({ StackName: 'cfn-gitops-plain-pipeline' }))).Stacks![0]!.StackId;
    expect(await tagsOf('cfn-gitops-plain')).toEqual({
      'aws:cloudformation:stack-name': 'cfn-gitops-plain-pipeline',
      'aws:cloudformation:stack-id': stackId,
      'aws:cloudformation:logical-id': 'Pipeline',
    });
  });

  it('answers an unknown pipeline with ResourceNotFoundException and a malformed ARN with InvalidArnException', async () => {
    await expect(aws.cp.send(new ListTagsForResourceCommand({ resourceArn: 'arn:aws:codepipeline:us-east-1:123456789012:nobody' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(aws.cp.send(new ListTagsForResourceCommand({ resourceArn: 'not-an-arn' }))).rejects.toBeInstanceOf(InvalidArnException);
  });
});
