import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { CodePipelineClient, ListPipelineExecutionsCommand, GetPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { S3Client } from '@aws-sdk/client-s3';
import { startEmulator } from '../../emulator';
import { bootstrap } from '../../starter/bootstrap';

/** Credentials the emulator accepts (it accepts any). */
export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
export const TEST_REGION = 'us-east-1';

/** A running emulator with real SDK clients pointed at it. */
export interface TestAws {
  url: string;
  cloudFormation: CloudFormationClient;
  codePipeline: CodePipelineClient;
  s3: S3Client;
  /** The artifact bucket of the bootstrap stack, as `cfn-gitops bootstrap` made it. */
  bucket: string;
  /** Environment variables that point a worker or the AWS CLI at this emulator. */
  env: Record<string, string>;
  /** JSON call to the emulator's control API. */
  control<T = unknown>(method: string, route: string, body?: unknown): Promise<T>;
  /** The stack, or undefined once it is gone. */
  stack(name: string): Promise<Stack | undefined>;
  /** The `AppVersion` parameter of a stack. */
  appVersion(name: string): Promise<string | undefined>;
  /** AppVersion each execution of a pipeline ran with, oldest first. */
  executions(pipelineName: string): Promise<{ id: string; status: string; appVersion?: string; trigger?: string }[]>;
  close(): Promise<void>;
}

/**
 * Starts the emulator on a free port with fast timing, bootstraps it as a user would (the stack
 * cfn-gitops-bootstrap and its artifact bucket; `bootstrap: false` leaves it bare) and returns SDK
 * clients for it.
 */
export async function startTestAws(options: { stackDelayMs?: number; actionDelayMs?: number; bucket?: string; bootstrap?: boolean } = {}): Promise<TestAws> {
  const emulator = await startEmulator({
    port: 0,
    timing: { stackOperationMs: options.stackDelayMs ?? 150, actionMs: options.actionDelayMs ?? 150 },
  });
  const config = { region: TEST_REGION, endpoint: emulator.url, credentials: TEST_CREDENTIALS };
  const cloudFormation = new CloudFormationClient(config);
  const codePipeline = new CodePipelineClient(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const bootstrapped =
    options.bootstrap === false ? undefined : await bootstrap({ cloudFormation, region: TEST_REGION, bucketName: options.bucket, wait: { minDelay: 0.05, maxDelay: 0.5 } });
  const aws: TestAws = {
    url: emulator.url,
    cloudFormation,
    codePipeline,
    s3,
    bucket: bootstrapped?.bucket ?? '',
    env: {
      AWS_ENDPOINT_URL: emulator.url,
      AWS_REGION: TEST_REGION,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    },
    async control<T>(method: string, route: string, body?: unknown): Promise<T> {
      const response = await fetch(`${emulator.url}/_emulator${route}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`emulator ${method} ${route}: ${response.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    },
    async stack(name) {
      try {
        const stack = (await cloudFormation.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
        return stack?.StackStatus === 'DELETE_COMPLETE' ? undefined : stack;
      } catch (error) {
        if (/does not exist/.test((error as Error).message)) return undefined;
        throw error;
      }
    },
    async appVersion(name) {
      return (await aws.stack(name))?.Parameters?.find((p) => p.ParameterKey === 'AppVersion')?.ParameterValue;
    },
    async executions(pipelineName) {
      const list = await codePipeline.send(new ListPipelineExecutionsCommand({ pipelineName }));
      const summaries = [...(list.pipelineExecutionSummaries ?? [])].reverse();
      return Promise.all(
        summaries.map(async (s) => {
          const detail = await codePipeline.send(new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId: s.pipelineExecutionId }));
          return {
            id: s.pipelineExecutionId!,
            status: s.status!,
            trigger: s.trigger?.triggerType,
            appVersion: detail.pipelineExecution?.variables?.find((v) => v.name === 'AppVersion')?.resolvedValue,
          };
        }),
      );
    },
    async close() {
      cloudFormation.destroy();
      codePipeline.destroy();
      s3.destroy();
      await emulator.close();
    },
  };
  return aws;
}

/** Polls `check` until it returns true, or throws `message` after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, message: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true after ${timeoutMs} ms: ${message}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
