import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { WATCH_BUSY, WATCH_REFUSED } from '../../common/messages';
import { DeployPhase, DeploymentResult, WatchOutcome, type EnvironmentState, type WatchAnswer, type WatchRequest } from '../../common/types';
import { createGitReader } from '../../starter/git';
import { startPush } from '../../starter/start';
import { fakeClient, idleState } from '../server/fakes';
import type { TestRepo } from '../support/gitops-repo';
import { createRepoWith } from '../support/scenario';

/**
 * What `start --wait` does with each answer of the watch Update, against a client whose
 * environment workflow answers from a script: it asks again after new phases and after
 * `continuing` (the run continued as new), prints each phase once, takes the result, and polls
 * the state only where the workflow has no such Update.
 */

/** A client over one environment whose watch Update gives `answers` in turn (a function throws instead). */
function scriptedClient(answers: (WatchAnswer | (() => never))[], state?: EnvironmentState) {
  const { client } = fakeClient(state ? [state] : []);
  const asked: WatchRequest[] = [];
  let queries = 0;
  const workflow = client.workflow as unknown as Record<string, unknown>;
  workflow.getHandle = () => ({
    executeUpdate: async (_definition: unknown, { args }: { args: [WatchRequest] }) => {
      asked.push(args[0]);
      const next = answers.shift();
      if (!next) throw new Error('asked once too often');
      return typeof next === 'function' ? next() : next;
    },
    query: async () => {
      queries++;
      return state;
    },
  });
  return { client: client as Client, asked, queries: () => queries };
}

let repo: TestRepo;
let head: string;
beforeAll(async () => {
  repo = await createRepoWith({ alpha: '1.0.0' });
  head = await repo.head();
});
afterAll(() => repo?.remove());

/** `start --wait` of the push that creates alpha, with what it printed. */
async function waitFor(client: Client, json = false) {
  const printed: string[] = [];
  const { report } = await startPush({
    client,
    git: createGitReader(repo.dir),
    taskQueue: 'cfn-gitops',
    push: { before: '0'.repeat(40), after: head },
    wait: true,
    pollMs: 10,
    onProgress: json ? undefined : (environment, phase, detail) => printed.push(`${environment}: ${phase} (${detail})`),
  });
  return { entry: report.environments[0]!, printed };
}

const ended = { outcome: WatchOutcome.Ended, phases: [], result: DeploymentResult.Succeeded, message: 'alpha: app 1.0.0 deployed by execution e-1' };

describe('start --wait on the watch Update', () => {
  it('asks again after new phases and after continuing, prints each phase once and takes the result', async () => {
    const { client, asked } = scriptedClient([
      { outcome: WatchOutcome.Phases, phases: [{ phase: DeployPhase.Queued }, { phase: DeployPhase.PublishingSource }] },
      { outcome: WatchOutcome.Continuing, phases: [] },
      { outcome: WatchOutcome.Phases, phases: [{ phase: DeployPhase.RunningPipeline, pipelineExecutionId: 'e-1' }] },
      ended,
    ]);
    const { entry, printed } = await waitFor(client);
    expect(asked.map((request) => request.seenPhases)).toEqual([0, 2, 2, 3]);
    expect(asked.every((request) => request.commit === head && request.action === 'sync')).toBe(true);
    expect(printed).toEqual([`alpha: Queued (commit ${head.slice(0, 7)})`, `alpha: PublishingSource (commit ${head.slice(0, 7)})`, 'alpha: RunningPipeline (execution e-1)']);
    expect(entry).toMatchObject({ status: 'Succeeded', message: ended.message });
  });

  it('with --json asks for the end only', async () => {
    const { client, asked } = scriptedClient([{ outcome: WatchOutcome.Continuing, phases: [] }, { ...ended, result: DeploymentResult.Failed, message: 'alpha: it broke' }]);
    const { entry } = await waitFor(client, true);
    expect(asked.map((request) => request.seenPhases)).toEqual([undefined, undefined]);
    expect(entry).toMatchObject({ status: 'Failed', error: 'alpha: it broke' });
  });

  it('polls the state where the workflow has no such Update or as many watches waiting as it allows, and only there', async () => {
    const noHandler = () => {
      throw new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.nonRetryable('No registered handler for update: watchRequest'));
    };
    const state = idleState('alpha', '1.0.0');
    const older = scriptedClient([noHandler], state);
    state.history = [{ ...state.history[0]!, commit: head, action: 'sync', result: DeploymentResult.Succeeded, message: 'polled' }];
    expect((await waitFor(older.client)).entry).toMatchObject({ status: 'Succeeded', message: 'polled' });
    expect(older.queries()).toBe(1);

    const refusal = () => {
      throw new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ type: WATCH_REFUSED, message: 'invalid watch: commit: a 40-character SHA', nonRetryable: true }));
    };
    const refused = scriptedClient([refusal], state);
    expect((await waitFor(refused.client)).entry).toMatchObject({ status: 'error', error: 'alpha: lost track of cfn-gitops/alpha: Workflow Update failed: invalid watch: commit: a 40-character SHA' });
    expect(refused.queries()).toBe(0);

    const busy = () => {
      throw new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ type: WATCH_BUSY, message: '5 watches wait already: read the state query instead', nonRetryable: true }));
    };
    const crowded = scriptedClient([busy], state);
    expect((await waitFor(crowded.client)).entry).toMatchObject({ status: 'Succeeded', message: 'polled' });
    expect(crowded.queries()).toBe(1);
  });
});
