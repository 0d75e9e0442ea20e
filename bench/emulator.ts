/**
 * Benchmark of the local AWS emulator (`npm run bench:emulator`; not part of the tests).
 *
 * The emulator runs in a child process, the load comes from this one through the real AWS SDK
 * clients: first it creates pipeline stacks (each pipeline runs by itself and creates its
 * environment stack), then it sends a mix of the calls the product makes for a fixed time and
 * prints stacks and pipelines held, calls per second and latency percentiles. On a 2-core machine
 * the SDK clients of the load generator saturate their core first, so the round-trip latency
 * includes queueing in the client; the time spent in the emulator is printed as well.
 *
 * Environment: BENCH_ENVIRONMENTS (default 1000), BENCH_SECONDS (default 15), BENCH_CONCURRENCY (default 32).
 */
import { CloudFormationClient, CreateStackCommand, DescribeStackEventsCommand, DescribeStacksCommand, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListPipelineExecutionsCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { fork, type ChildProcess } from 'node:child_process';
import { startEmulator, zipFiles } from '../emulator';

const ENVIRONMENTS = Number(process.env.BENCH_ENVIRONMENTS ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const BUCKET = 'bench-artifacts';

const PIPELINE = `Parameters:
  EnvironmentName: { Type: String }
  PipelineName: { Type: String }
  EnvironmentStackName: { Type: String }
  AppVersion: { Type: String }
  ArtifactBucket: { Type: String }
  InstanceType: { Type: String, Default: t3.micro }
Resources:
  PipelineRole:
    Type: AWS::IAM::Role
    Properties: { AssumeRolePolicyDocument: { Statement: [ { Effect: Allow, Principal: { Service: codepipeline.amazonaws.com }, Action: sts:AssumeRole } ] } }
  CloudFormationRole:
    Type: AWS::IAM::Role
    Properties: { AssumeRolePolicyDocument: { Statement: [ { Effect: Allow, Principal: { Service: cloudformation.amazonaws.com }, Action: sts:AssumeRole } ] } }
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: !Ref PipelineName
      PipelineType: V2
      ExecutionMode: SUPERSEDED
      RoleArn: !GetAtt PipelineRole.Arn
      ArtifactStore: { Type: S3, Location: !Ref ArtifactBucket }
      Variables: [ { Name: AppVersion, DefaultValue: !Ref AppVersion } ]
      Stages:
        - Name: Source
          Actions:
            - Name: Templates
              ActionTypeId: { Category: Source, Owner: AWS, Provider: S3, Version: '1' }
              Configuration: { S3Bucket: !Ref ArtifactBucket, S3ObjectKey: !Sub 'cfn-gitops/\${EnvironmentName}/source.zip', PollForSourceChanges: false }
              OutputArtifacts: [ { Name: SourceOutput } ]
        - Name: Deploy
          Actions:
            - Name: DeployEnvironment
              ActionTypeId: { Category: Deploy, Owner: AWS, Provider: CloudFormation, Version: '1' }
              InputArtifacts: [ { Name: SourceOutput } ]
              Configuration:
                ActionMode: CREATE_UPDATE
                StackName: !Ref EnvironmentStackName
                TemplatePath: SourceOutput::environment.yaml
                Capabilities: CAPABILITY_IAM
                RoleArn: !GetAtt CloudFormationRole.Arn
                ParameterOverrides: !Sub '{"AppVersion":"#{variables.AppVersion}","EnvironmentName":"\${EnvironmentName}","InstanceType":"\${InstanceType}"}'
Outputs:
  PipelineName: { Value: !Ref Pipeline }
`;

const ENVIRONMENT = `Parameters:
  AppVersion: { Type: String }
  EnvironmentName: { Type: String }
  InstanceType: { Type: String }
Resources:
  Application:
    Type: AWS::ElasticBeanstalk::Application
    Properties: { ApplicationName: !Sub 'app-\${EnvironmentName}' }
  Environment:
    Type: AWS::ElasticBeanstalk::Environment
    Properties:
      ApplicationName: !Ref Application
      VersionLabel: !Ref AppVersion
      OptionSettings: [ { Namespace: 'aws:autoscaling:launchconfiguration', OptionName: InstanceType, Value: !Ref InstanceType } ]
Outputs:
  Version: { Value: !Ref AppVersion }
`;

/** Child process: runs the emulator and reports its URL. */
async function serve(): Promise<void> {
  const emulator = await startEmulator({
    port: 0,
    timing: { stackOperationMs: 200, actionMs: 100, changeSetMs: 100, driftDetectionMs: 100 },
    maxCallLog: 200_000,
  });
  process.send?.({ url: emulator.url });
  process.on('disconnect', () => {
    void emulator.close().then(() => process.exit(0));
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

async function health(url: string): Promise<{ stacks: number; pipelines: number; executions: number; pendingTimers: number; memoryRssBytes: number }> {
  const response = await fetch(`${url}/_emulator/health`);
  return (await response.json()) as { stacks: number; pipelines: number; executions: number; pendingTimers: number; memoryRssBytes: number };
}

async function main(): Promise<void> {
  const child: ChildProcess = fork(__filename, ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { url: string }) => resolve(m.url));
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  try {
    const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
    const region = 'us-east-1';
    const cfn = new CloudFormationClient({ endpoint: url, region, credentials });
    const cp = new CodePipelineClient({ endpoint: url, region, credentials });
    const s3 = new S3Client({ endpoint: url, region, credentials, forcePathStyle: true });
    const envs = Array.from({ length: ENVIRONMENTS }, (_, i) => `env${String(i).padStart(4, '0')}`);

    console.log(`emulator at ${url}; creating ${ENVIRONMENTS} environments (pipeline stack, pipeline, first execution, environment stack)`);
    const populateStart = Date.now();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const source = zipFiles({ 'environment.yaml': ENVIRONMENT });
    await pool(envs, CONCURRENCY, async (env) => {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `cfn-gitops/${env}/source.zip`, Body: source }));
      await cfn.send(
        new CreateStackCommand({
          StackName: `cfn-gitops-${env}-pipeline`,
          TemplateBody: PIPELINE,
          Capabilities: ['CAPABILITY_IAM'],
          ClientRequestToken: `${env}-create`,
          Parameters: [
            { ParameterKey: 'EnvironmentName', ParameterValue: env },
            { ParameterKey: 'PipelineName', ParameterValue: `cfn-gitops-${env}` },
            { ParameterKey: 'EnvironmentStackName', ParameterValue: `cfn-gitops-${env}-env` },
            { ParameterKey: 'AppVersion', ParameterValue: '1.0.0' },
            { ParameterKey: 'ArtifactBucket', ParameterValue: BUCKET },
          ],
        }),
      );
    });
    for (;;) {
      const h = await health(url);
      if (h.stacks >= 2 * ENVIRONMENTS && h.pendingTimers === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const populated = await health(url);
    console.log(
      `populated in ${((Date.now() - populateStart) / 1000).toFixed(1)} s: ${populated.stacks} stacks, ${populated.pipelines} pipelines, ${populated.executions} executions`,
    );

    // The execution each pipeline started by itself, for GetPipelineExecution.
    const executionOf = new Map<string, string>();
    await pool(envs, CONCURRENCY, async (env) => {
      const list = await cp.send(new ListPipelineExecutionsCommand({ pipelineName: `cfn-gitops-${env}` }));
      executionOf.set(env, list.pipelineExecutionSummaries?.[0]?.pipelineExecutionId ?? '');
    });

    const pick = (): string => envs[Math.floor(Math.random() * envs.length)];
    const calls: [number, string, () => Promise<unknown>][] = [
      [30, 'DescribeStacks', () => cfn.send(new DescribeStacksCommand({ StackName: `cfn-gitops-${pick()}-env` }))],
      [10, 'DescribeStackEvents', () => cfn.send(new DescribeStackEventsCommand({ StackName: `cfn-gitops-${pick()}-pipeline` }))],
      [5, 'GetTemplate', () => cfn.send(new GetTemplateCommand({ StackName: `cfn-gitops-${pick()}-pipeline` }))],
      [20, 'GetPipelineState', () => cp.send(new GetPipelineStateCommand({ name: `cfn-gitops-${pick()}` }))],
      [10, 'ListPipelineExecutions', () => cp.send(new ListPipelineExecutionsCommand({ pipelineName: `cfn-gitops-${pick()}`, maxResults: 5 }))],
      [
        15,
        'GetPipelineExecution',
        () => {
          const env = pick();
          return cp.send(new GetPipelineExecutionCommand({ pipelineName: `cfn-gitops-${env}`, pipelineExecutionId: executionOf.get(env) }));
        },
      ],
      [
        5,
        'StartPipelineExecution',
        () =>
          cp.send(
            new StartPipelineExecutionCommand({ name: `cfn-gitops-${pick()}`, variables: [{ name: 'AppVersion', value: `2.${Math.floor(Math.random() * 100)}.0` }] }),
          ),
      ],
    ];
    const totalWeight = calls.reduce((n, [w]) => n + w, 0);
    const choose = (): [string, () => Promise<unknown>] => {
      let r = Math.random() * totalWeight;
      for (const [w, name, fn] of calls) {
        if ((r -= w) < 0) return [name, fn];
      }
      return [calls[0][1], calls[0][2]];
    };

    /** Sends the mix with `concurrency` clients for `seconds`; returns the figures. */
    const load = async (seconds: number, concurrency: number) => {
      const latencies: number[] = [];
      const counts = new Map<string, number>();
      let errors = 0;
      const loadStart = Date.now();
      const deadline = loadStart + seconds * 1000;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (Date.now() < deadline) {
            const [name, fn] = choose();
            const t0 = performance.now();
            try {
              await fn();
            } catch {
              errors++;
            }
            latencies.push(performance.now() - t0);
            counts.set(name, (counts.get(name) ?? 0) + 1);
          }
        }),
      );
      const elapsed = (Date.now() - loadStart) / 1000;
      const { calls: logged } = (await (await fetch(`${url}/_emulator/calls?since=${new Date(loadStart).toISOString()}`)).json()) as {
        calls: { durationMs: number }[];
      };
      latencies.sort((a, b) => a - b);
      const inEmulator = logged.map((c) => c.durationMs).sort((a, b) => a - b);
      return { latencies, counts, errors, elapsed, inEmulator };
    };

    console.log(`mixed load for ${SECONDS} s with ${CONCURRENCY} concurrent clients`);
    const busy = await load(SECONDS, CONCURRENCY);
    const quiet = await load(Math.min(5, SECONDS), 4);
    const ms = (n: number): string => `${n.toFixed(2)} ms`;
    const final = await health(url);
    console.log('');
    console.log('emulator benchmark');
    console.log(`  held                   ${final.stacks} live stacks, ${final.pipelines} pipelines, ${final.executions} executions; RSS ${(final.memoryRssBytes / 1024 / 1024).toFixed(0)} MiB`);
    for (const [label, run, concurrency] of [
      ['full load', busy, CONCURRENCY],
      ['light load', quiet, 4],
    ] as const) {
      const { latencies, inEmulator, elapsed, errors } = run;
      console.log(`  ${label} (${concurrency} concurrent SDK clients, ${elapsed.toFixed(1)} s)`);
      console.log(`    calls served         ${latencies.length} = ${(latencies.length / elapsed).toFixed(0)} calls/s, errors ${errors}`);
      console.log(`    round trip (SDK)     p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, max ${ms(latencies[latencies.length - 1])}`);
      console.log(`    inside the emulator  p50 ${ms(percentile(inEmulator, 50))}, p99 ${ms(percentile(inEmulator, 99))}`);
    }
    console.log(`  call mix: ${[...busy.counts].map(([name, n]) => `${name} ${n}`).join(', ')}`);
  } finally {
    child.disconnect();
  }
}

if (process.argv.includes('--serve')) {
  void serve();
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
