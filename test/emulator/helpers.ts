import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { CodePipelineClient, GetPipelineExecutionCommand, type PipelineExecution } from '@aws-sdk/client-codepipeline';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { strToU8, zipSync } from 'fflate';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../emulator';

/** Short timings so a test file stays well under 30 s. */
export const FAST = { stackOperationMs: 120, actionMs: 60, changeSetMs: 40, driftDetectionMs: 40 };

/** The real SDK clients pointed at an emulator. */
export interface Clients {
  cfn: CloudFormationClient;
  cp: CodePipelineClient;
  s3: S3Client;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Starts an emulator on a free port with fast timing. */
export function startTestEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ port: 0, ...options, timing: { ...FAST, ...options.timing } });
}

/** SDK v3 clients for the emulator at `url`. */
export function clients(url: string, region = 'us-east-1'): Clients {
  return {
    cfn: new CloudFormationClient({ endpoint: url, region, credentials }),
    cp: new CodePipelineClient({ endpoint: url, region, credentials }),
    s3: new S3Client({ endpoint: url, region, credentials, forcePathStyle: true }),
  };
}

/** Polls `read` every `everyMs` until `done` holds for its result; fails after `timeoutMs`. */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until a stack's status no longer ends in _IN_PROGRESS. */
export async function stackSettled(cfn: CloudFormationClient, stackName: string): Promise<Stack> {
  const out = await waitFor(
    () => cfn.send(new DescribeStacksCommand({ StackName: stackName })),
    (o) => !(o.Stacks?.[0]?.StackStatus ?? '').endsWith('_IN_PROGRESS'),
  );
  return out.Stacks?.[0] as Stack;
}

/** Waits until a pipeline execution is neither InProgress nor Stopping. */
export async function executionSettled(cp: CodePipelineClient, pipelineName: string, pipelineExecutionId: string): Promise<PipelineExecution> {
  const out = await waitFor(
    () => cp.send(new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId })),
    (o) => !['InProgress', 'Stopping'].includes(o.pipelineExecution?.status ?? ''),
  );
  return out.pipelineExecution as PipelineExecution;
}

/** A zip archive of the given text files. */
export function zip(files: Record<string, string>): Buffer {
  const entries: Record<string, Uint8Array> = {};
  for (const [name, text] of Object.entries(files)) entries[name] = strToU8(text);
  return Buffer.from(zipSync(entries));
}

/** Creates the artifact bucket and uploads an environment's source zip as the product does. */
export async function uploadSource(s3: S3Client, bucket: string, environment: string, environmentYaml: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: { name?: string }) => {
    if (error.name !== 'BucketAlreadyOwnedByYou') throw error;
  });
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `cfn-gitops/${environment}/source.zip`,
      Body: zip({ 'environment.yaml': environmentYaml }),
      ContentType: 'application/zip',
    }),
  );
}

/** Calls the control API. */
export async function control<T = unknown>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}/_emulator${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`control ${method} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The pipeline template the product ships (common/pipeline.yaml), as the issue gives it. */
export const PIPELINE_TEMPLATE = `AWSTemplateFormatVersion: '2010-09-09'
Description: cfn-gitops pipeline for one environment
Parameters:
  EnvironmentName: { Type: String }
  PipelineName: { Type: String }
  EnvironmentStackName: { Type: String }
  AppVersion: { Type: String }
  ArtifactBucket: { Type: String }
  InstanceType: { Type: String, Default: t3.micro }
Resources:
  PipelineRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: { Service: codepipeline.amazonaws.com }
            Action: sts:AssumeRole
      Policies:
        - PolicyName: pipeline
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: ['s3:*', 'cloudformation:*', 'iam:PassRole']
                Resource: '*'
  CloudFormationRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: { Service: cloudformation.amazonaws.com }
            Action: sts:AssumeRole
      ManagedPolicyArns: [ 'arn:aws:iam::aws:policy/AdministratorAccess' ]
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: !Ref PipelineName
      PipelineType: V2
      ExecutionMode: SUPERSEDED
      RoleArn: !GetAtt PipelineRole.Arn
      ArtifactStore: { Type: S3, Location: !Ref ArtifactBucket }
      Variables: [ { Name: AppVersion, DefaultValue: !Ref AppVersion, Description: Application version to deploy } ]
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

/** A small environment template (environment.yaml) as the pipeline deploys it. */
export const ENVIRONMENT_TEMPLATE = `AWSTemplateFormatVersion: '2010-09-09'
Description: one environment
Parameters:
  AppVersion: { Type: String }
  EnvironmentName: { Type: String }
  InstanceType: { Type: String, Default: t3.micro, AllowedValues: [t3.micro, t3.small] }
Conditions:
  IsProd: !Equals [!Ref EnvironmentName, prod]
Resources:
  Application:
    Type: AWS::ElasticBeanstalk::Application
    Properties:
      ApplicationName: !Sub 'app-\${EnvironmentName}'
  Environment:
    Type: AWS::ElasticBeanstalk::Environment
    Properties:
      ApplicationName: !Ref Application
      VersionLabel: !Ref AppVersion
      SolutionStackName: 64bit Amazon Linux 2023 v6.1.0 running Node.js 20
      OptionSettings:
        - Namespace: aws:autoscaling:launchconfiguration
          OptionName: InstanceType
          Value: !Ref InstanceType
        - Namespace: aws:autoscaling:asg
          OptionName: MaxSize
          Value: !If [IsProd, '4', '1']
Outputs:
  Url: { Value: !GetAtt Environment.EndpointURL }
  Version: { Value: !Ref AppVersion }
`;

/** Parameters of the pipeline stack for an environment. */
export function pipelineParameters(environment: string, bucket: string, appVersion = '1.0.0'): { ParameterKey: string; ParameterValue: string }[] {
  return [
    { ParameterKey: 'EnvironmentName', ParameterValue: environment },
    { ParameterKey: 'PipelineName', ParameterValue: `cfn-gitops-${environment}` },
    { ParameterKey: 'EnvironmentStackName', ParameterValue: `cfn-gitops-${environment}-env` },
    { ParameterKey: 'AppVersion', ParameterValue: appVersion },
    { ParameterKey: 'ArtifactBucket', ParameterValue: bucket },
  ];
}
