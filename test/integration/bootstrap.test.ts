import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { GetPipelineCommand } from '@aws-sdk/client-codepipeline';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import { startTestAws, TEST_REGION, type TestAws } from '../support/aws';
import { configYaml, createRepoWith, workerEnv, ZEROS } from '../support/scenario';
import type { TestRepo } from '../support/gitops-repo';
import { uniqueTaskQueue } from '../support/temporal';

/**
 * `cfn-gitops bootstrap` through the built CLI against the emulator, read back with the AWS CLI
 * as a user would; and a deploy of a repo whose common/gitops.yaml names no artifactBucket,
 * before and after the region is bootstrapped.
 */

const AWS = path.resolve(__dirname, '../../.tools/venv/bin/aws');
/** An environment name no other test file deploys: this file shares the `default` namespace. */
const ENV = 'bootdev';

/** The AWS CLI v1 against the emulator; its JSON output parsed. */
function awsCli<T>(url: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      AWS,
      ['--endpoint-url', url, '--region', TEST_REGION, '--output', 'json', ...args],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_CONFIG_FILE: '/nonexistent',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => (error ? reject(new Error(`aws ${args.join(' ')}: ${stderr}`)) : resolve(JSON.parse(stdout) as T)),
    );
  });
}

describe('cfn-gitops bootstrap', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  let bucket: string;

  const cli = (...args: string[]) => runCli(args, { env: { ...env, NODE_NO_WARNINGS: '1' } });
  const start = (before: string, after: string) => runCli(['start', '--repo', repo.dir, '--before', before, '--after', after, '--wait', '--json'], { env, timeoutMs: 150_000 });

  beforeAll(async () => {
    if (!existsSync(AWS)) throw new Error(`${AWS} is missing: run bash scripts/setup.sh`);
    // A bare account: no bootstrap stack, no bucket.
    aws = await startTestAws({ bootstrap: false });
    env = workerEnv(aws, 'default', uniqueTaskQueue('bootstrap'));
    [worker, repo] = await Promise.all([startWorkerProcess(env), createRepoWith({ [ENV]: '1.0.0' })]);
  });
  afterAll(async () => {
    await worker?.stop();
    await aws?.close();
    repo?.remove();
  });

  it('a deploy before bootstrap fails without retrying, naming `cfn-gitops bootstrap`, and creates nothing', async () => {
    const result = await start(ZEROS, await repo.head());
    expect(result.code).toBe(1);
    const [entry] = JSON.parse(result.stdout).environments;
    // Found when `start` stores the push's templates in the bucket, before any environment is submitted.
    expect(entry).toMatchObject({ environment: ENV, action: 'sync', status: 'error' });
    expect(entry.error).toContain(
      `no artifact bucket in us-east-1: stack cfn-gitops-bootstrap does not exist; common/gitops.yaml names no artifactBucket, so the bucket of stack cfn-gitops-bootstrap is used; run \`cfn-gitops bootstrap --region us-east-1\``,
    );
    expect(await aws.stack(`cfn-gitops-${ENV}-pipeline`)).toBeUndefined();
    // Non-retryable: the bootstrap stack was looked up once, not once per attempt.
    const lookups = await aws.control<{ calls: unknown[] }>('GET', '/calls?operation=DescribeStacks&target=cfn-gitops-bootstrap');
    expect(lookups.calls).toHaveLength(1);
  });

  it('--json creates the stack and a versioned, encrypted, private bucket with a lifecycle rule, exported as the stack output', async () => {
    const created = await cli('bootstrap', '--json');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const result = JSON.parse(created.stdout);
    expect(result).toEqual({ stackName: 'cfn-gitops-bootstrap', bucket: expect.stringMatching(/^cfn-gitops-bootstrap-artifactbucket-[a-z0-9]+$/), region: 'us-east-1', status: 'created' });
    bucket = result.bucket;

    const s3api = <T>(command: string) => awsCli<T>(aws.url, ['s3api', command, '--bucket', bucket]);
    expect(await s3api('get-bucket-versioning')).toEqual({ Status: 'Enabled' });
    expect(await s3api('get-bucket-encryption')).toEqual({
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false }] },
    });
    expect(await s3api('get-public-access-block')).toEqual({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
    });
    expect(await s3api('get-bucket-lifecycle-configuration')).toEqual({
      Rules: [
        {
          ID: 'ExpireNoncurrentVersions',
          Filter: { Prefix: '' },
          Status: 'Enabled',
          NoncurrentVersionExpiration: { NoncurrentDays: 30 },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
        },
      ],
    });
    const stacks = await awsCli<{ Stacks: { StackStatus: string; Outputs: unknown[] }[] }>(aws.url, ['cloudformation', 'describe-stacks', '--stack-name', 'cfn-gitops-bootstrap']);
    expect(stacks.Stacks[0]!.StackStatus).toBe('CREATE_COMPLETE');
    expect(stacks.Stacks[0]!.Outputs).toEqual([expect.objectContaining({ OutputKey: 'ArtifactBucket', OutputValue: bucket, ExportName: 'cfn-gitops-bootstrap-ArtifactBucket' })]);
    const exports = await awsCli<{ Exports: { Name: string; Value: string }[] }>(aws.url, ['cloudformation', 'list-exports']);
    expect(exports.Exports).toEqual([expect.objectContaining({ Name: 'cfn-gitops-bootstrap-ArtifactBucket', Value: bucket })]);
  });

  it('a second run changes nothing and says so', async () => {
    const again = await cli('bootstrap', '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ stackName: 'cfn-gitops-bootstrap', bucket, region: 'us-east-1', status: 'unchanged' });
    const text = await cli('bootstrap', '--region', 'us-east-1');
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(`cfn-gitops-bootstrap in us-east-1: already up to date; nothing changed\nartifact bucket: ${bucket} (used when common/gitops.yaml names no artifactBucket)\n`);
    const changes = await Promise.all(['CreateStack', 'UpdateStack', 'DeleteStack'].map((operation) => aws.control<{ calls: unknown[] }>('GET', `/calls?operation=${operation}&target=cfn-gitops-bootstrap`)));
    expect(changes.map((c) => c.calls.length)).toEqual([1, 0, 0]);
  });

  it('refuses a bad flag with exit 2, naming the flag and the rule', async () => {
    const badBucket = await cli('bootstrap', '--bucket-name', 'Not_A_Bucket');
    expect(badBucket.code).toBe(2);
    expect(badBucket.stderr).toContain('--bucket-name is an S3 bucket name');
    const badRegion = await cli('bootstrap', '--region', 'moon');
    expect(badRegion.code).toBe(2);
    expect(badRegion.stderr).toContain('--region looks like eu-west-1');
  });

  it('a deploy after bootstrap, with no artifactBucket in common/gitops.yaml, uses the bootstrap bucket', async () => {
    const before = await repo.head();
    const after = await repo.commit(`${ENV}: app 1.1.0`, { [`${ENV}/config.yaml`]: configYaml('1.1.0') });
    const result = await start(before, after);
    expect(result.stderr).not.toMatch(/cfn-gitops:/);
    expect(JSON.parse(result.stdout).environments).toEqual([expect.objectContaining({ environment: ENV, status: 'Succeeded', appVersion: '1.1.0' })]);
    expect(result.code).toBe(0);

    const pipelineStack = await aws.stack(`cfn-gitops-${ENV}-pipeline`);
    expect(pipelineStack?.Parameters?.find((p) => p.ParameterKey === 'ArtifactBucket')?.ParameterValue).toBe(bucket);
    const pipeline = await aws.codePipeline.send(new GetPipelineCommand({ name: `cfn-gitops-${ENV}` }));
    expect(pipeline.pipeline?.artifactStore?.location).toBe(bucket);
    const source = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: `cfn-gitops/${ENV}/source.zip` }));
    expect(source.ContentType).toBe('application/zip');
    expect(await aws.appVersion(`cfn-gitops-${ENV}`)).toBe('1.1.0');
  });

  it('refuses a folder bootstrap/, whose environment stack would be the bootstrap stack, and leaves that stack alone', async () => {
    const before = await repo.head();
    const after = await repo.commit('Add bootstrap', { 'bootstrap/config.yaml': configYaml('1.0.0') });
    const planned = await runCli(['plan', '--repo', repo.dir, '--before', before, '--after', after, '--json'], { env });
    expect(planned.code).toBe(2);
    const entry = JSON.parse(planned.stdout).environments.find((e: { environment: string }) => e.environment === 'bootstrap');
    expect(entry.desired).toBeUndefined();
    expect(entry.error).toEqual({
      file: 'bootstrap/config.yaml',
      message:
        'bootstrap/: its environment stack cfn-gitops-bootstrap is the stack of `cfn-gitops bootstrap`, which holds the artifact bucket: rename the folder bootstrap/ or set another stackPrefix in common/gitops.yaml',
    });

    const started = await start(before, after);
    expect(started.code).toBe(2);
    expect(JSON.parse(started.stdout).environments).toEqual([expect.objectContaining({ environment: 'bootstrap', status: 'invalid' })]);
    expect(await aws.stack('cfn-gitops-bootstrap-pipeline')).toBeUndefined();
    const updates = await aws.control<{ calls: unknown[] }>('GET', '/calls?operation=UpdateStack&target=cfn-gitops-bootstrap');
    expect(updates.calls).toHaveLength(0);
  });
});
