import { CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetPipelineCommand, ListPipelineExecutionsCommand, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OperationRecord } from '../../emulator';
import {
  clients,
  control,
  ENVIRONMENT_TEMPLATE,
  executionSettled,
  PIPELINE_TEMPLATE,
  pipelineParameters,
  stackSettled,
  startTestEmulator,
  uploadSource,
} from './helpers';

describe('the state file', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'emulator-state-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps stacks, pipelines, executions and objects across a restart', async () => {
    const stateFile = join(dir, 'state.json');
    const first = await startTestEmulator({ stateFile, port: 0 });
    let aws = clients(first.url);
    await uploadSource(aws.s3, 'kept-artifacts', 'kept', ENVIRONMENT_TEMPLATE);
    await aws.cfn.send(
      new CreateStackCommand({
        StackName: 'cfn-gitops-kept-pipeline',
        TemplateBody: PIPELINE_TEMPLATE,
        Parameters: pipelineParameters('kept', 'kept-artifacts'),
        Capabilities: ['CAPABILITY_IAM'],
        ClientRequestToken: 'kept-create',
      }),
    );
    await stackSettled(aws.cfn, 'cfn-gitops-kept-pipeline');
    const initial = (await aws.cp.send(new ListPipelineExecutionsCommand({ pipelineName: 'cfn-gitops-kept' }))).pipelineExecutionSummaries?.[0];
    await executionSettled(aws.cp, 'cfn-gitops-kept', initial?.pipelineExecutionId as string);
    await first.close();
    expect(existsSync(stateFile)).toBe(true);
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).version).toBe(1);

    const second = await startTestEmulator({ stateFile, port: 0 });
    try {
      aws = clients(second.url);
      const stack = (await aws.cfn.send(new DescribeStacksCommand({ StackName: 'cfn-gitops-kept-pipeline' }))).Stacks?.[0];
      expect(stack?.StackStatus).toBe('CREATE_COMPLETE');
      const env = (await aws.cfn.send(new DescribeStacksCommand({ StackName: 'cfn-gitops-kept-env' }))).Stacks?.[0];
      expect(env?.Parameters).toContainEqual({ ParameterKey: 'AppVersion', ParameterValue: '1.0.0' });
      expect((await aws.cp.send(new GetPipelineCommand({ name: 'cfn-gitops-kept' }))).pipeline?.name).toBe('cfn-gitops-kept');
      const object = await aws.s3.send(new GetObjectCommand({ Bucket: 'kept-artifacts', Key: 'cfn-gitops/kept/source.zip' }));
      expect((await object.Body?.transformToByteArray())?.length).toBeGreaterThan(0);
      // The token still makes a retried create a no-op after the restart.
      const again = await aws.cfn.send(
        new CreateStackCommand({
          StackName: 'cfn-gitops-kept-pipeline',
          TemplateBody: PIPELINE_TEMPLATE,
          Parameters: pipelineParameters('kept', 'kept-artifacts'),
          Capabilities: ['CAPABILITY_IAM'],
          ClientRequestToken: 'kept-create',
        }),
      );
      expect(again.StackId).toBe(stack?.StackId);
      const started = await aws.cp.send(new StartPipelineExecutionCommand({ name: 'cfn-gitops-kept', variables: [{ name: 'AppVersion', value: '2.0.0' }] }));
      expect((await executionSettled(aws.cp, 'cfn-gitops-kept', started.pipelineExecutionId as string)).status).toBe('Succeeded');
      const updated = (await aws.cfn.send(new DescribeStacksCommand({ StackName: 'cfn-gitops-kept-env' }))).Stacks?.[0];
      expect(updated?.Parameters).toContainEqual({ ParameterKey: 'AppVersion', ParameterValue: '2.0.0' });
      const list = (await aws.cp.send(new ListPipelineExecutionsCommand({ pipelineName: 'cfn-gitops-kept' }))).pipelineExecutionSummaries;
      expect(list?.map((e) => e.trigger?.triggerType)).toEqual(['StartPipelineExecution', 'CreatePipeline']);
    } finally {
      await second.close();
    }
  });

  it('resumes a stack operation and a pipeline execution that were running when it stopped', async () => {
    const stateFile = join(dir, 'running.json');
    const first = await startTestEmulator({ stateFile, timing: { stackOperationMs: 1500, actionMs: 1500 } });
    let aws = clients(first.url);
    await uploadSource(aws.s3, 'running-artifacts', 'running', ENVIRONMENT_TEMPLATE);
    await aws.cfn.send(
      new CreateStackCommand({
        StackName: 'cfn-gitops-running-pipeline',
        TemplateBody: PIPELINE_TEMPLATE,
        Parameters: pipelineParameters('running', 'running-artifacts'),
        Capabilities: ['CAPABILITY_IAM'],
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    await first.close();

    const second = await startTestEmulator({ stateFile, timing: { stackOperationMs: 1500, actionMs: 1500 } });
    try {
      aws = clients(second.url);
      await control(second.url, 'PUT', '/timing', { stackOperationMs: 100, actionMs: 50 });
      expect((await stackSettled(aws.cfn, 'cfn-gitops-running-pipeline')).StackStatus).toBe('CREATE_COMPLETE');
      const initial = (await aws.cp.send(new ListPipelineExecutionsCommand({ pipelineName: 'cfn-gitops-running' }))).pipelineExecutionSummaries?.[0];
      expect((await executionSettled(aws.cp, 'cfn-gitops-running', initial?.pipelineExecutionId as string)).status).toBe('Succeeded');
      expect((await stackSettled(aws.cfn, 'cfn-gitops-running-env')).StackStatus).toBe('CREATE_COMPLETE');
      const { operations } = await control<{ operations: OperationRecord[] }>(second.url, 'GET', '/operations?target=cfn-gitops-running-pipeline');
      expect(operations).toEqual([expect.objectContaining({ operation: 'CREATE_STACK', status: 'CREATE_COMPLETE' })]);
    } finally {
      await second.close();
    }
  });
});
