import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { submitUpdate, WorkflowType } from '../../common/messages';
import { environmentWorkflowId } from '../../common/names';
import type { DesiredState } from '../../common/types';
import { startTestAws, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import {
  cliStart,
  configYaml,
  connectTemporal,
  createRepoWith,
  operationsLog,
  operationsOf,
  waitForState,
  workerEnv,
  ZEROS,
  type Operation,
} from '../support/scenario';
import { uniqueTaskQueue } from '../support/temporal';

/** One planned environment as `cfn-gitops plan --json` prints it. */
interface PlannedJson {
  environment: string;
  action: string;
  reason: string;
  desired?: Omit<DesiredState, 'templates'>;
  error?: { file: string; line?: number; message: string };
}

/** `cfn-gitops plan --json` over a push, with its entries. */
async function planPush(repo: TestRepo, before: string, after: string) {
  const result = await runCli(['plan', '--repo', repo.dir, '--before', before, '--after', after, '--json']);
  let environments: PlannedJson[];
  try {
    environments = (JSON.parse(result.stdout) as { environments: PlannedJson[] }).environments;
  } catch {
    throw new Error(`cfn-gitops plan exited ${result.code} without a JSON plan:\n${result.stdout}\n${result.stderr}`);
  }
  const entry = (environment: string, action = 'sync') => {
    const found = environments.find((e) => e.environment === environment && e.action === action);
    if (!found) throw new Error(`no ${action} of ${environment} in ${JSON.stringify(environments)}`);
    return found;
  };
  return { ...result, environments, entry };
}

/**
 * Trust (DESIGN §3): an environment owns its derived names. A config cannot set the parameters
 * the orchestrator passes, and no folder can be planned onto another environment's stacks or
 * pipeline: driven as CI drives it, the real CLI on a real repo, a worker and the AWS emulator.
 */
describe('an environment owns its derived names', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  /** prod's operations (its environment stack, pipeline stack and pipeline) after the first push. */
  let prodOperations: Operation[];

  const prodNow = async () => operationsOf(await operationsLog(aws), 'prod');

  beforeAll(async () => {
    aws = await startTestAws();
    env = workerEnv(aws, TEST_NAMESPACES.names, uniqueTaskQueue('names'));
    worker = await startWorkerProcess(env);
    repo = await createRepoWith({ development: '1.0.0', prod: '2.0.0' });
    const created = await cliStart(env, repo, ZEROS, await repo.head(), { wait: true });
    expect(created.report.environments.map((e) => [e.environment, e.status])).toEqual([
      ['development', 'Succeeded'],
      ['prod', 'Succeeded'],
    ]);
    prodOperations = await prodNow();
    expect(await aws.appVersion('cfn-gitops-prod')).toBe('2.0.0');
  });

  afterAll(async () => {
    await worker?.stop();
    await aws?.close();
    repo?.remove();
  });

  it("refuses a config that sets EnvironmentStackName, with file, line and fix; prod's stacks are untouched", async () => {
    const before = await repo.head();
    const after = await repo.commit('development: deploy 6.6.6 (into prod)', {
      'development/config.yaml': 'appVersion: "6.6.6"\nparameters:\n  InstanceType: t3.micro\n  EnvironmentStackName: cfn-gitops-prod\n',
    });

    const planned = await planPush(repo, before, after);
    expect(planned.code).toBe(2);
    const development = planned.entry('development');
    expect(development.desired).toBeUndefined();
    expect(development.error).toMatchObject({ file: 'development/config.yaml', line: 4 });
    expect(development.error?.message).toContain('development/config.yaml:4: parameters.EnvironmentStackName: EnvironmentStackName is set by cfn-gitops');
    expect(development.error?.message).toContain('remove it');

    const text = await runCli(['plan', '--repo', repo.dir, '--before', before, '--after', after]);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain('development/config.yaml:4: parameters.EnvironmentStackName');

    const started = await cliStart(env, repo, before, after, { wait: true });
    expect(started.code).toBe(2);
    expect(started.entry('development')).toMatchObject({ status: 'invalid', file: 'development/config.yaml', line: 4 });
    expect(await aws.appVersion('cfn-gitops-prod')).toBe('2.0.0');
    expect(await aws.appVersion('cfn-gitops-development')).toBe('1.0.0');
    expect(await prodNow()).toEqual(prodOperations);

    // Back to a valid tree for the next tests.
    const fixed = await repo.commit('development: 1.0.1', { 'development/config.yaml': configYaml('1.0.1') });
    expect((await cliStart(env, repo, after, fixed, { wait: true })).entry('development').status).toBe('Succeeded');
  });

  it('deploys into its own stack a desired state that reaches the workflow with EnvironmentStackName set', async () => {
    // A desired state that never went through the planner (an older starter, someone with Temporal access):
    // the orchestrator's own parameters still win over the config's.
    const before = await repo.head();
    const after = await repo.commit('development: 7.7.7', { 'development/config.yaml': configYaml('7.7.7') });
    const planned = (await planPush(repo, before, after)).entry('development').desired!;
    const desired: DesiredState = {
      ...planned,
      config: { ...planned.config!, parameters: { ...planned.config!.parameters, EnvironmentStackName: 'cfn-gitops-prod' } },
      templates: {
        pipeline: readFileSync(path.join(repo.dir, 'common', 'pipeline.yaml'), 'utf8'),
        environment: readFileSync(path.join(repo.dir, 'common', 'environment.yaml'), 'utf8'),
      },
    };
    const temporal = await connectTemporal(TEST_NAMESPACES.names);
    try {
      let refused = false;
      try {
        await temporal.client.workflow.executeUpdateWithStart(submitUpdate, {
          args: [desired],
          startWorkflowOperation: new WithStartWorkflowOperation(WorkflowType.Environment, {
            workflowId: environmentWorkflowId('development'),
            taskQueue: env.CFN_GITOPS_TASK_QUEUE!,
            args: [{ environment: 'development' }],
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        });
      } catch {
        // A handler that refuses such a state up front protects prod just as well.
        refused = true;
      }
      if (!refused) {
        const state = await waitForState(temporal.client, 'development', (s) => s.history.some((r) => r.commit === after && r.result !== undefined), 'done with 7.7.7');
        expect(state.history.find((r) => r.commit === after)?.result).toBe('Succeeded');
        expect(await aws.appVersion('cfn-gitops-development')).toBe('7.7.7');
        const pipelineStack = await aws.stack('cfn-gitops-development-pipeline');
        expect(pipelineStack?.Parameters?.find((p) => p.ParameterKey === 'EnvironmentStackName')?.ParameterValue).toBe('cfn-gitops-development');
      }
    } finally {
      await temporal.close();
    }
    expect(await aws.appVersion('cfn-gitops-prod')).toBe('2.0.0');
    expect(await prodNow()).toEqual(prodOperations);
  });

  it("refuses a new folder prod-pipeline/ whose environment stack is prod's pipeline stack, and refuses deleting it while prod exists", async () => {
    const before = await repo.head();
    const added = await repo.commit('Add prod-pipeline', { 'prod-pipeline/config.yaml': configYaml('3.0.0') });

    const planned = await planPush(repo, before, added);
    expect(planned.code).toBe(2);
    const squatter = planned.entry('prod-pipeline');
    expect(squatter.desired).toBeUndefined();
    expect(squatter.error?.file).toBe('prod-pipeline/config.yaml');
    expect(squatter.error?.message).toContain('cfn-gitops-prod-pipeline');
    expect(squatter.error?.message).toContain('pipeline stack of prod');
    expect(squatter.error?.message).toContain('rename the folder prod-pipeline/');

    const started = await cliStart(env, repo, before, added, { wait: true });
    expect(started.code).toBe(2);
    expect(started.entry('prod-pipeline').status).toBe('invalid');
    expect(await aws.stack('cfn-gitops-prod-pipeline-pipeline')).toBeUndefined();
    expect(await prodNow()).toEqual(prodOperations);

    const removed = await repo.commit('Remove prod-pipeline', { 'prod-pipeline': null });
    const deletePlan = await planPush(repo, added, removed);
    expect(deletePlan.code).toBe(2);
    const deletion = deletePlan.entry('prod-pipeline', 'delete');
    expect(deletion.desired).toBeUndefined();
    expect(deletion.error?.message).toContain('pipeline stack of prod');
    expect(deletion.error?.message).toContain('not deleted');

    const deleted = await cliStart(env, repo, added, removed, { wait: true });
    expect(deleted.code).toBe(2);
    expect(deleted.entry('prod-pipeline')).toMatchObject({ action: 'delete', status: 'invalid' });
    expect((await aws.stack('cfn-gitops-prod-pipeline'))?.StackStatus).toMatch(/_COMPLETE$/);
    expect(await aws.appVersion('cfn-gitops-prod')).toBe('2.0.0');
    expect(await prodNow()).toEqual(prodOperations);
  });
});

/** What CloudFormation, CodePipeline or the push itself would refuse late is refused by `plan`, naming the file and the limit. */
describe('cfn-gitops plan: limits and settings that move every environment', () => {
  let repo: TestRepo;
  let base: Record<string, string>;

  /** Commits `files` on top of HEAD, plans that push, and restores the files after. */
  async function planChange(files: Record<string, string | null>) {
    const before = await repo.head();
    const after = await repo.commit('change', files);
    const result = await planPush(repo, before, after);
    const restore: Record<string, string | null> = {};
    for (const file of Object.keys(files)) restore[file] = base[file] ?? null;
    await repo.commit('restore', restore);
    return result;
  }

  beforeAll(async () => {
    repo = await createTestRepo();
    base = {};
    for (const file of ['development/config.yaml', 'prod/config.yaml', 'featureX/config.yaml', 'common/pipeline.yaml', 'common/environment.yaml', 'common/gitops.yaml']) {
      base[file] = readFileSync(path.join(repo.dir, file), 'utf8');
    }
  });

  afterAll(() => repo?.remove());

  it('refuses a 10 MB config file, naming the file and the 64 KB limit', async () => {
    const result = await planChange({ 'development/config.yaml': `appVersion: "1.0.0"\ndescription: ${'x'.repeat(10 * 1024 * 1024)}\n` });
    expect(result.code).toBe(2);
    const development = result.entry('development');
    expect(development.error?.file).toBe('development/config.yaml');
    expect(development.error?.message).toContain('development/config.yaml');
    expect(development.error?.message).toContain('10,485,');
    expect(development.error?.message).toContain('65,536 bytes');
  });

  it('refuses a description over 1,000 characters, an appVersion over 1,000 and a parameter value over 4,096 bytes, each at its line', async () => {
    const result = await planChange({
      'development/config.yaml': `appVersion: "1.0.0"\ndescription: ${'d'.repeat(1_001)}\n`,
      'prod/config.yaml': `appVersion: "1.0.0"\nparameters:\n  InstanceType: ${'é'.repeat(2_049)}\n`,
      'featureX/config.yaml': `appVersion: "${'1'.repeat(1_001)}"\n`,
    });
    expect(result.code).toBe(2);
    expect(result.entry('development').error).toMatchObject({ file: 'development/config.yaml', line: 2 });
    expect(result.entry('development').error?.message).toContain('description: at most 1,000 characters');
    expect(result.entry('prod').error).toMatchObject({ file: 'prod/config.yaml', line: 3 });
    expect(result.entry('prod').error?.message).toContain('parameters.InstanceType: at most 4,096 bytes');
    expect(result.entry('featureX').error).toMatchObject({ file: 'featureX/config.yaml', line: 1 });
    expect(result.entry('featureX').error?.message).toContain('appVersion: at most 1,000 characters');
  });

  it('refuses every sync when common/pipeline.yaml or common/environment.yaml is over 1,048,576 bytes', async () => {
    const padding = (bytes: number) => `\n${'# padding to grow the template\n'.repeat(Math.ceil(bytes / 31))}`;
    for (const [file, limit] of [
      ['common/pipeline.yaml', '1,048,576 bytes'],
      ['common/environment.yaml', '1,048,576 bytes'],
    ] as const) {
      const result = await planChange({ [file]: base[file] + padding(1_048_576) });
      expect(result.code).toBe(2);
      expect(result.environments.map((e) => [e.environment, e.action, e.error?.file])).toEqual([
        ['development', 'sync', file],
        ['featureX', 'sync', file],
        ['prod', 'sync', file],
      ]);
      expect(result.entry('prod').error?.message).toContain(limit);
    }
  });

  it('refuses a stackPrefix change for every existing environment, and a new one whose names would be an old one’s; a new one with its own names is planned', async () => {
    const result = await planChange({
      'common/gitops.yaml': base['common/gitops.yaml']!.replace('stackPrefix: cfn-gitops-', 'stackPrefix: cfn-'),
      'gitops-prod/config.yaml': configYaml('9.0.0'),
      'fresh/config.yaml': configYaml('1.0.0'),
    });
    expect(result.code).toBe(2);
    for (const environment of ['development', 'featureX', 'prod']) {
      const entry = result.entry(environment);
      expect(entry.desired).toBeUndefined();
      expect(entry.error).toMatchObject({ file: 'common/gitops.yaml', line: 6 });
      expect(entry.error?.message).toContain('stackPrefix changed from cfn-gitops- to cfn-');
      expect(entry.error?.message).toContain('revert');
    }
    const collision = result.entry('gitops-prod');
    expect(collision.desired).toBeUndefined();
    expect(collision.error?.message).toContain('cfn-gitops-prod');
    expect(collision.error?.message).toContain('of prod');
    expect(result.entry('fresh').error).toBeUndefined();
    expect(result.entry('fresh').desired?.settings.stackPrefix).toBe('cfn-');
  });

  it('refuses a region change for every existing environment', async () => {
    const result = await planChange({ 'common/gitops.yaml': base['common/gitops.yaml']!.replace('region: us-east-1', 'region: eu-west-1') });
    expect(result.code).toBe(2);
    expect(result.environments.map((e) => [e.environment, e.error?.file, e.error?.line])).toEqual([
      ['development', 'common/gitops.yaml', 9],
      ['featureX', 'common/gitops.yaml', 9],
      ['prod', 'common/gitops.yaml', 9],
    ]);
    expect(result.entry('prod').error?.message).toContain('region changed from us-east-1 to eu-west-1');
  });
});
