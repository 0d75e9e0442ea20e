import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { sourceObjectKey } from '../../common/names';
import { EXAMPLE_REPO, readTemplate, resourceOfType } from './example-files';

/**
 * The contract between the worker, the pipeline template and the environment template: what the
 * worker passes, what the local emulator's action providers run, and what CloudFormation would
 * refuse at deploy time (an override for a parameter the environment template does not declare).
 */
const pipeline = readTemplate('pipeline.yaml');
const environment = readTemplate('environment.yaml');
const pipelineResource = resourceOfType(pipeline, 'AWS::CodePipeline::Pipeline').properties;

/** What the worker passes to every pipeline stack (deployment workflow), besides the config's parameters. */
const WORKER_PARAMETERS = ['EnvironmentName', 'PipelineName', 'EnvironmentStackName', 'AppVersion', 'ArtifactBucket'];

function action(stage: string, name: string): Record<string, any> {
  const found = pipelineResource.Stages.find((s: { Name: string }) => s.Name === stage)?.Actions.find((a: { Name: string }) => a.Name === name);
  if (!found) throw new Error(`no action ${stage}/${name} in pipeline.yaml`);
  return found;
}

/** The Deploy action's ParameterOverrides, with `${Param}` left as written. */
function parameterOverrides(): Record<string, string> {
  const value = action('Deploy', 'DeployEnvironment').Configuration.ParameterOverrides;
  expect(Object.keys(value)).toEqual(['Fn::Sub']);
  return JSON.parse(value['Fn::Sub']) as Record<string, string>;
}

describe('common/pipeline.yaml', () => {
  it('declares what the worker passes and the environment parameters it forwards, with defaults for the latter', () => {
    expect(Object.keys(pipeline.Parameters)).toEqual([...WORKER_PARAMETERS, 'InstanceType', 'ApplicationBucket']);
    expect(pipeline.Parameters.InstanceType!.Default).toBe('t3.micro');
    expect(pipeline.Parameters.ApplicationBucket!.Default).toBe('cfn-gitops-app-bundles');
  });

  it('makes one V2 pipeline named by the worker, superseding, storing artifacts in the artifact bucket, with the AppVersion variable', () => {
    expect(pipelineResource).toMatchObject({
      Name: { Ref: 'PipelineName' },
      PipelineType: 'V2',
      ExecutionMode: 'SUPERSEDED',
      ArtifactStore: { Type: 'S3', Location: { Ref: 'ArtifactBucket' } },
      Variables: [{ Name: 'AppVersion', DefaultValue: { Ref: 'AppVersion' } }],
    });
    expect(pipelineResource.Stages.map((s: { Name: string; Actions: { Name: string }[] }) => `${s.Name}: ${s.Actions.map((a) => a.Name).join(', ')}`)).toEqual([
      'Source: Templates',
      'Deploy: DeployEnvironment',
    ]);
    expect(pipeline.Outputs.PipelineName).toBeDefined();
  });

  it('reads the source object where the worker uploads it, and only when told to', () => {
    expect(action('Source', 'Templates')).toMatchObject({
      ActionTypeId: { Category: 'Source', Owner: 'AWS', Provider: 'S3', Version: '1' },
      Configuration: {
        S3Bucket: { Ref: 'ArtifactBucket' },
        S3ObjectKey: { 'Fn::Sub': sourceObjectKey('${EnvironmentName}') },
        PollForSourceChanges: false,
      },
      OutputArtifacts: [{ Name: 'SourceOutput' }],
    });
  });

  it('creates or updates the environment stack from environment.yaml with the deploy role', () => {
    expect(action('Deploy', 'DeployEnvironment')).toMatchObject({
      ActionTypeId: { Category: 'Deploy', Owner: 'AWS', Provider: 'CloudFormation', Version: '1' },
      InputArtifacts: [{ Name: 'SourceOutput' }],
      Configuration: {
        ActionMode: 'CREATE_UPDATE',
        StackName: { Ref: 'EnvironmentStackName' },
        // The worker zips the template as environment.yaml.
        TemplatePath: 'SourceOutput::environment.yaml',
        Capabilities: 'CAPABILITY_IAM',
        RoleArn: { 'Fn::GetAtt': 'CloudFormationRole.Arn' },
      },
    });
    expect(pipeline.Resources.CloudFormationRole?.Type).toBe('AWS::IAM::Role');
  });

  it('forwards the pipeline variable as AppVersion and every other environment parameter by name', () => {
    const overrides = parameterOverrides();
    expect(overrides).toEqual({
      AppVersion: '#{variables.AppVersion}',
      EnvironmentName: '${EnvironmentName}',
      InstanceType: '${InstanceType}',
      ApplicationBucket: '${ApplicationBucket}',
    });
    for (const [name, value] of Object.entries(overrides)) {
      if (name !== 'AppVersion') expect(Object.keys(pipeline.Parameters)).toContain(value.slice(2, -1));
    }
  });
});

describe('common/environment.yaml', () => {
  it('declares every parameter the pipeline overrides, and defaults every other one', () => {
    const overridden = Object.keys(parameterOverrides());
    for (const name of overridden) expect(Object.keys(environment.Parameters)).toContain(name);
    const withoutDefault = Object.entries(environment.Parameters).filter(([, p]) => p.Default === undefined).map(([name]) => name);
    expect(withoutDefault.filter((name) => !overridden.includes(name))).toEqual([]);
    expect(environment.Parameters.InstanceType!.Default).toBe(pipeline.Parameters.InstanceType!.Default);
    expect(environment.Parameters.ApplicationBucket!.Default).toBe(pipeline.Parameters.ApplicationBucket!.Default);
  });

  it('deploys app/<AppVersion>.zip from the application bucket as the environment version', () => {
    expect(resourceOfType(environment, 'AWS::ElasticBeanstalk::ApplicationVersion').properties.SourceBundle).toEqual({
      S3Bucket: { Ref: 'ApplicationBucket' },
      S3Key: { 'Fn::Sub': 'app/${AppVersion}.zip' },
    });
    const version = resourceOfType(environment, 'AWS::ElasticBeanstalk::ApplicationVersion').logicalId;
    const profile = resourceOfType(environment, 'AWS::IAM::InstanceProfile').logicalId;
    const env = resourceOfType(environment, 'AWS::ElasticBeanstalk::Environment').properties;
    expect(env.VersionLabel).toEqual({ Ref: version });
    expect(env.SolutionStackName ?? env.PlatformArn).toBeDefined();
    const options = Object.fromEntries(env.OptionSettings.map((o: { Namespace: string; OptionName: string; Value: unknown }) => [`${o.Namespace}/${o.OptionName}`, o.Value]));
    expect(options).toMatchObject({
      'aws:ec2:instances/InstanceTypes': { Ref: 'InstanceType' },
      'aws:autoscaling:launchconfiguration/IamInstanceProfile': { Ref: profile },
    });
  });

  it('outputs the environment URL and the version it runs', () => {
    expect(Object.keys(environment.Outputs)).toEqual(['EnvironmentURL', 'AppVersion']);
    expect(environment.Outputs.AppVersion!.Value).toEqual({ Ref: 'AppVersion' });
  });
});

describe('.github/workflows/deploy.yml', () => {
  const workflow = parse(readFileSync(path.join(EXAMPLE_REPO, '.github', 'workflows', 'deploy.yml'), 'utf8'));
  const steps: Record<string, any>[] = workflow.jobs.deploy.steps;

  it('runs on pushes to main, without a concurrency group (the workflows serialize)', () => {
    expect(workflow.on).toEqual({ push: { branches: ['main'] } });
    expect(workflow.concurrency).toBeUndefined();
    expect(workflow.jobs.deploy.concurrency).toBeUndefined();
  });

  it('checks out the whole history and deploys with the cfn-gitops action against Temporal', () => {
    expect(steps.find((s) => String(s.uses).startsWith('actions/checkout@'))?.with).toEqual({ 'fetch-depth': 0 });
    const deploy = steps.find((s) => /^[^/]+\/cfn-gitops@v1$/.test(String(s.uses)));
    expect(deploy?.with).toEqual({
      'temporal-address': '${{ secrets.TEMPORAL_ADDRESS }}',
      'temporal-namespace': '${{ secrets.TEMPORAL_NAMESPACE }}',
      'temporal-api-key': '${{ secrets.TEMPORAL_API_KEY }}',
      'temporal-ui-url': '${{ vars.TEMPORAL_UI_URL }}',
    });
    // Every input it passes is one the action declares.
    const action = parse(readFileSync(path.join(EXAMPLE_REPO, '..', '..', 'action.yml'), 'utf8'));
    expect(Object.keys(deploy!.with).filter((input) => !(input in action.inputs))).toEqual([]);
  });
});
