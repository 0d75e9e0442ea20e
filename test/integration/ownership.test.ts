import { CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { startTestAws, eventually, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import type { TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { callLog, cliStart, connectTemporal, createRepoWith, environmentState, workerEnv, ZEROS } from '../support/scenario';
import { uniqueTaskQueue } from '../support/temporal';

/**
 * An environment owns its derived names, end to end: the real CLI, a worker process and the
 * emulator. A stack someone else made under the name an environment's pipeline stack would have
 * is neither updated nor deleted by a push; the push fails, saying why and what to do.
 */
describe('a stack under an environment’s derived name that cfn-gitops did not create', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  const namespace = TEST_NAMESPACES.ownership;
  const refusal = (call: string) =>
    `staging: ${call} cfn-gitops-staging-pipeline refused: this stack was not created by cfn-gitops for staging ` +
    '(it carries no cfn-gitops:environment tag): rename the environment or remove the stack';

  beforeAll(async () => {
    aws = await startTestAws();
    env = workerEnv(aws, namespace, uniqueTaskQueue('ownership'));
    worker = await startWorkerProcess(env);
  });
  afterAll(async () => {
    await worker?.stop();
    await aws?.close();
    repo?.remove();
  });

  it('is not touched by a sync nor by a delete of the environment, which fail with NotOwned and the fix', async () => {
    // Someone else's stack, made with the SDK, no tags.
    await aws.cloudFormation.send(
      new CreateStackCommand({
        StackName: 'cfn-gitops-staging-pipeline',
        TemplateBody: 'Resources:\n  Handle:\n    Type: AWS::CloudFormation::WaitConditionHandle\n',
      }),
    );
    await eventually(async () => (await aws.stack('cfn-gitops-staging-pipeline'))?.StackStatus === 'CREATE_COMPLETE', 'the foreign stack created');
    const before = await aws.stack('cfn-gitops-staging-pipeline');

    repo = await createRepoWith({ staging: '1.0.0', development: '1.0.0' });
    const head = await repo.head();
    const synced = await cliStart(env, repo, ZEROS, head, { wait: true });
    expect(synced.code).toBe(1);
    expect(synced.entry('staging')).toEqual(expect.objectContaining({ action: 'sync', status: 'Failed', error: refusal('UpdateStack') }));
    // Other environments are not held up.
    expect(synced.entry('development').status).toBe('Succeeded');

    const { client, close } = await connectTemporal(namespace);
    try {
      const state = await environmentState(client, 'staging');
      const deployment = client.workflow.getHandle(state.lastResult!.workflowId!);
      await expect(deployment.result()).rejects.toMatchObject({ cause: { type: 'NotOwned', nonRetryable: true, message: refusal('UpdateStack') } });
    } finally {
      await close();
    }

    const removed = await repo.commit('Remove staging', { staging: null });
    const deleted = await cliStart(env, repo, head, removed, { wait: true });
    expect(deleted.code).toBe(1);
    expect(deleted.entry('staging')).toEqual(expect.objectContaining({ action: 'delete', status: 'Failed', error: refusal('DeleteStack') }));

    // AWS holds the stack as its owner left it, and no pipeline or environment stack was made for staging.
    const after = await aws.stack('cfn-gitops-staging-pipeline');
    expect(after).toMatchObject({ StackId: before!.StackId, StackStatus: 'CREATE_COMPLETE' });
    expect(after!.LastUpdatedTime).toBeUndefined();
    expect(await aws.stack('cfn-gitops-staging')).toBeUndefined();
    const writes = (await callLog(aws)).filter((c) => c.target?.startsWith('cfn-gitops-staging') && /^(Update|Delete|Create|Continue|Start|Stop)/.test(c.operation));
    expect(writes.map((c) => c.operation)).toEqual(['CreateStack']);
  });

  it('the worker refuses to start with an installation id AWS cannot hold as a tag, naming the setting and the fix', async () => {
    const explicit = await runCli(['worker'], { env: { ...env, CFN_GITOPS_INSTALLATION: 'team*one' } });
    expect(explicit.code).toBe(1);
    expect(explicit.stderr.trim()).toBe(
      'cfn-gitops: invalid settings: CFN_GITOPS_INSTALLATION: "team*one" cannot be an AWS tag value (letters, digits, spaces and _ . : / = + - @ only); set CFN_GITOPS_INSTALLATION to one',
    );
    const derived = await runCli(['worker'], { env: { ...env, CFN_GITOPS_INSTALLATION: undefined, CFN_GITOPS_TASK_QUEUE: 'queue#1' } });
    expect(derived.code).toBe(1);
    expect(derived.stderr).toContain(`CFN_GITOPS_INSTALLATION: "${namespace}/queue#1" (TEMPORAL_NAMESPACE/CFN_GITOPS_TASK_QUEUE, as it is unset) cannot be an AWS tag value`);
  });
});
