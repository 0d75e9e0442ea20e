import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunningEmulator } from '../../emulator';
import { clients, ENVIRONMENT_TEMPLATE, executionSettled, PIPELINE_TEMPLATE, startTestEmulator, uploadSource } from './helpers';

const AWS = resolve(__dirname, '../../.tools/venv/bin/aws');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real AWS CLI, as a user runs it, against the emulator. */
function aws(url: string, args: string[]): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      AWS,
      ['--endpoint-url', url, '--output', 'json', ...args],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_CONFIG_FILE: '/nonexistent',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function json<T>(result: CliResult): T {
  if (result.code !== 0) throw new Error(`aws exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

describe('the AWS CLI against the emulator', () => {
  let emulator: RunningEmulator;
  let dir: string;

  beforeAll(async () => {
    if (!existsSync(AWS)) throw new Error(`${AWS} is missing: run bash scripts/setup.sh`);
    emulator = await startTestEmulator();
    dir = mkdtempSync(join(tmpdir(), 'emulator-cli-'));
  });
  afterAll(async () => {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates, waits for, runs, describes and deletes stacks and pipelines', async () => {
    const sdk = clients(emulator.url);
    await uploadSource(sdk.s3, 'cli-artifacts', 'cli', ENVIRONMENT_TEMPLATE);
    const templateFile = join(dir, 'pipeline.yaml');
    writeFileSync(templateFile, PIPELINE_TEMPLATE);

    const created = json<{ StackId: string }>(
      await aws(emulator.url, [
        'cloudformation',
        'create-stack',
        '--stack-name',
        'cli-pipeline',
        '--template-body',
        `file://${templateFile}`,
        '--capabilities',
        'CAPABILITY_IAM',
        '--client-request-token',
        'cli-create',
        '--parameters',
        'ParameterKey=EnvironmentName,ParameterValue=cli',
        'ParameterKey=PipelineName,ParameterValue=cfn-gitops-cli',
        'ParameterKey=EnvironmentStackName,ParameterValue=cfn-gitops-cli-env',
        'ParameterKey=AppVersion,ParameterValue=1.0.0',
        'ParameterKey=ArtifactBucket,ParameterValue=cli-artifacts',
      ]),
    );
    expect(created.StackId).toMatch(/^arn:aws:cloudformation:us-east-1:123456789012:stack\/cli-pipeline\//);

    const waited = await aws(emulator.url, ['cloudformation', 'wait', 'stack-create-complete', '--stack-name', 'cli-pipeline']);
    expect(waited).toMatchObject({ code: 0, stderr: '' });

    const described = json<{ Stacks: { StackStatus: string; Outputs: { OutputKey: string; OutputValue: string }[]; CreationTime: string }[] }>(
      await aws(emulator.url, ['cloudformation', 'describe-stacks', '--stack-name', 'cli-pipeline']),
    );
    expect(described.Stacks[0].StackStatus).toBe('CREATE_COMPLETE');
    expect(described.Stacks[0].Outputs).toEqual([{ OutputKey: 'PipelineName', OutputValue: 'cfn-gitops-cli' }]);
    expect(Number.isNaN(Date.parse(described.Stacks[0].CreationTime))).toBe(false);

    const started = json<{ pipelineExecutionId: string }>(
      await aws(emulator.url, ['codepipeline', 'start-pipeline-execution', '--name', 'cfn-gitops-cli', '--variables', 'name=AppVersion,value=2.0.0']),
    );
    expect(started.pipelineExecutionId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await executionSettled(sdk.cp, 'cfn-gitops-cli', started.pipelineExecutionId)).status).toBe('Succeeded');
    const execution = json<{ pipelineExecution: { status: string; variables: { name: string; resolvedValue: string }[] } }>(
      await aws(emulator.url, ['codepipeline', 'get-pipeline-execution', '--pipeline-name', 'cfn-gitops-cli', '--pipeline-execution-id', started.pipelineExecutionId]),
    );
    expect(execution.pipelineExecution).toMatchObject({ status: 'Succeeded', variables: [{ name: 'AppVersion', resolvedValue: '2.0.0' }] });

    const env = json<{ Stacks: { StackStatus: string; Parameters: { ParameterKey: string; ParameterValue: string }[] }[] }>(
      await aws(emulator.url, ['cloudformation', 'describe-stacks', '--stack-name', 'cfn-gitops-cli-env']),
    );
    expect(env.Stacks[0].Parameters).toContainEqual({ ParameterKey: 'AppVersion', ParameterValue: '2.0.0' });

    for (const stack of ['cfn-gitops-cli-env', 'cli-pipeline']) {
      expect(await aws(emulator.url, ['cloudformation', 'delete-stack', '--stack-name', stack])).toMatchObject({ code: 0, stdout: '' });
      expect(await aws(emulator.url, ['cloudformation', 'wait', 'stack-delete-complete', '--stack-name', stack])).toMatchObject({ code: 0 });
    }

    const missing = await aws(emulator.url, ['cloudformation', 'describe-stacks', '--stack-name', 'cli-pipeline']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id cli-pipeline does not exist');
    const gone = await aws(emulator.url, ['codepipeline', 'get-pipeline', '--name', 'cfn-gitops-cli']);
    expect(gone.stderr).toContain('PipelineNotFoundException');
  });

  it('reports a failed create as the waiter sees it', async () => {
    const templateFile = join(dir, 'topic.json');
    writeFileSync(templateFile, JSON.stringify({ Resources: { Topic: { Type: 'AWS::SNS::Topic' } } }));
    const response = await fetch(`${emulator.url}/_emulator/stacks/next-operations`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ stackName: 'cli-broken', failAt: { logicalResourceId: 'Topic', reason: 'nope' } }),
    });
    expect(response.status).toBe(201);
    json(await aws(emulator.url, ['cloudformation', 'create-stack', '--stack-name', 'cli-broken', '--template-body', `file://${templateFile}`]));
    const waited = await aws(emulator.url, ['cloudformation', 'wait', 'stack-create-complete', '--stack-name', 'cli-broken']);
    expect(waited.code).not.toBe(0);
    expect(waited.stderr).toContain('ROLLBACK_COMPLETE');
    const events = json<{ StackEvents: { LogicalResourceId: string; ResourceStatus: string; ResourceStatusReason?: string }[] }>(
      await aws(emulator.url, ['cloudformation', 'describe-stack-events', '--stack-name', 'cli-broken']),
    );
    expect(events.StackEvents.find((e) => e.ResourceStatus === 'CREATE_FAILED')).toMatchObject({ LogicalResourceId: 'Topic', ResourceStatusReason: 'nope' });
  });
});
