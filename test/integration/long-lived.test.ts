import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { deploymentProgressSignal } from '../../common/messages';
import { environmentWorkflowId } from '../../common/names';
import { DeployPhase } from '../../common/types';
import { eventually, startTestAws, type TestAws } from '../support/aws';
import { startWorkerProcess, type WorkerProcess } from '../support/cli';
import type { TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { cliStart, configYaml, connectTemporal, createRepoWith, environmentState, recordHistories, waitForState, workerEnv, ZEROS } from '../support/scenario';
import { testWorkflowSource, uniqueTaskQueue } from '../support/temporal';

const { EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW } = proto.api.enums.v1.EventType;

/**
 * A long-lived environment on the dev server: a worker that does not hold the workflow in its
 * cache replays the whole run before it answers, so a run continues as new once idle past 500
 * events. Messages keep arriving while it does (the server refuses a continue-as-new that meets
 * new signals, and the worker replays the run from its start); the run that follows carries the
 * state. The first run's history is recorded into test/histories/long-lived/ and replays.
 */
describe('a long-lived environment', () => {
  const namespace = TEST_NAMESPACES.longLived;
  const taskQueue = uniqueTaskQueue('long-lived');
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  let temporal: { client: Client; close(): Promise<void> };

  beforeAll(async () => {
    [aws, repo] = await Promise.all([startTestAws(), createRepoWith({ busy: '1.0.0' })]);
    env = workerEnv(aws, namespace, taskQueue);
    [worker, temporal] = await Promise.all([startWorkerProcess(env), connectTemporal(namespace)]);
  });
  afterAll(async () => {
    if (temporal) await recordHistories(temporal.client, 'long-lived', taskQueue, ['busy']);
    await worker?.stop();
    await temporal?.close();
    await aws?.close();
    repo?.remove();
  });

  it('continues as new once idle past 500 events, while messages keep arriving, and the next run carries its state and deploys', async () => {
    const first = await cliStart(env, repo, ZEROS, await repo.head());
    expect(first.code).toBe(0);
    await waitForState(temporal.client, 'busy', (s) => s.deployedVersion === '1.0.0' && !s.current, 'deployed 1.0.0');
    const handle = temporal.client.workflow.getHandle(environmentWorkflowId('busy'));
    const firstRun = (await handle.describe()).runId;

    // Messages the workflow takes and ignores (progress of no running deployment), 20 at a time,
    // so that some arrive while the run tries to continue as new.
    for (let sent = 0; sent < 600; sent += 20) {
      await Promise.all(Array.from({ length: 20 }, () => handle.signal(deploymentProgressSignal, { number: 99, phase: DeployPhase.RunningPipeline })));
    }
    await eventually(async () => (await handle.describe()).runId !== firstRun, 'a new run of cfn-gitops/busy');

    const history = await temporal.client.workflow.getHandle(handle.workflowId, firstRun).fetchHistory();
    const events = history.events ?? [];
    expect(events.at(-1)?.eventType).toBe(EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    expect(events.length).toBeGreaterThan(500);
    expect(events.length).toBeLessThan(700);
    // The run replays from its start with the worker's code, as a worker without it in its cache does.
    await Worker.runReplayHistory({ ...testWorkflowSource(), replayName: 'busy' }, history);

    // The next run carries what was applied and numbers the next deployment 2.
    expect(await environmentState(temporal.client, 'busy')).toMatchObject({ deploymentCount: 1, deployedVersion: '1.0.0' });
    const before = await repo.head();
    const after = await repo.commit('busy: app 1.1.0', { 'busy/config.yaml': configYaml('1.1.0') });
    expect((await cliStart(env, repo, before, after, { wait: true })).code).toBe(0);
    expect(await environmentState(temporal.client, 'busy')).toMatchObject({ deploymentCount: 2, deployedVersion: '1.1.0' });
    expect(await aws.appVersion('cfn-gitops-busy')).toBe('1.1.0');
  });
});
