import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { buildTimeline, type HistoryFacts, type RequestInfo } from '../../common/timeline';
import type { EnvironmentState } from '../../common/types';
import { historyFacts } from '../../starter/timeline';
import { HISTORIES_DIR } from '../support/scenario';

/** A recorded history's facts, decoded with the default converter as the client would. */
async function recorded(file: string): Promise<HistoryFacts> {
  const history = temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
  return historyFacts(history, 'run-1', async (payloads) => (payloads ?? []).map((p) => defaultPayloadConverter.fromPayload(p as Payload)));
}

const link = (id: string) => `http://ui.test/${id}`;
const sha = (prefix: string) => prefix.padEnd(40, '0');
const request = (commit: string, appVersion: string, message: string): RequestInfo => ({
  commit: { sha: sha(commit), message, author: 'Dana Developer', authorEmail: 'dana@example.com', date: '2024-05-01T09:00:00Z' },
  action: 'sync',
  appVersion,
  reason: 'config changed',
  pushedBy: 'Pat Pusher',
});

describe('historyFacts: what an environment workflow history holds for its timeline', () => {
  it('finds the request with its pusher, the preview the approver saw, the decision and the deployment with its execution', async () => {
    const facts = await recorded('trust/cfn-gitops__prod.json');
    const commit = '4c4994ba0676a5fd2842f50d03b5b763876bd166';
    expect(facts.requests.map((r) => r.request)).toEqual([
      {
        commit: { sha: commit, message: 'prod: 2.0.0', author: 'Someone Else', authorEmail: 'else@example.com', committer: 'Wes Writer', date: '2026-12-01T23:08:33+00:00' },
        action: 'sync',
        appVersion: '2.0.0',
        reason: 'first push',
        pushedBy: 'Pat Pusher',
      },
    ]);
    expect(facts.previews).toEqual([{ at: expect.any(String), commit, changes: ['Add cfn-gitops-prod-pipeline: a new pipeline stack, whose pipeline then runs once by itself'] }]);
    expect(facts.decisions).toEqual([{ at: '2026-12-01T23:08:36.921Z', kind: 'approve', by: 'Avery Approver' }]);
    expect(facts.deployments).toEqual([
      expect.objectContaining({
        number: 1,
        workflowId: 'cfn-gitops/prod/1-sync-4c4994ba0676',
        initiatedAt: '2026-12-01T23:08:36.923Z',
        startedAt: '2026-12-01T23:08:36.937Z',
        outcome: {
          result: 'Succeeded',
          at: '2026-12-01T23:08:38.344Z',
          pipelineExecutionId: '0d6acabd-31dc-44e3-80fd-438805d721d5',
          deployedVersion: '2.0.0',
          message: 'prod: app 2.0.0 deployed by execution 0d6acabd-31dc-44e3-80fd-438805d721d5',
        },
      }),
    ]);
  });

  it("gives a failed deployment AWS's reason and a cancelled one its end", async () => {
    const stuck = await recorded('faults/cfn-gitops__stuck.json');
    expect(stuck.deployments.map((d) => [d.number, d.outcome?.result])).toEqual([
      [1, 'Succeeded'],
      [2, 'Failed'],
      [3, 'Succeeded'],
    ]);
    expect(stuck.deployments[1]!.outcome!.message).toMatch(/^stuck: stack cfn-gitops-stuck-pipeline ended in UPDATE_ROLLBACK_FAILED/);
    const shift = await recorded('races/cfn-gitops__shift.json');
    expect(shift.deployments.map((d) => [d.number, d.request.action, d.outcome?.result])).toEqual([
      [1, 'sync', 'Succeeded'],
      [2, 'sync', 'Cancelled'],
      [3, 'delete', 'Succeeded'],
    ]);
  });

  it('builds the timeline of a history alone, newest first, each deployment with its commit, approval and durations', async () => {
    const page = buildTimeline({ environment: 'prod', runs: [await recorded('trust/cfn-gitops__prod.json')], link });
    expect(page.next).toBeUndefined();
    expect(page.deployments).toEqual([
      expect.objectContaining({
        number: 1,
        status: 'Succeeded',
        pushedBy: 'Pat Pusher',
        desiredVersion: '2.0.0',
        approvedBy: 'Avery Approver',
        approvedAt: '2026-12-01T23:08:36.921Z',
        changeSetPreview: ['Add cfn-gitops-prod-pipeline: a new pipeline stack, whose pipeline then runs once by itself'],
        url: 'http://ui.test/cfn-gitops/prod/1-sync-4c4994ba0676',
        requestedAt: '2026-12-01T23:08:34.281Z',
        durations: { approvalMs: expect.any(Number), deployMs: 1407, totalMs: 4063 },
      }),
    ]);
  });
});

describe('buildTimeline: the state and the histories joined', () => {
  // #1 only in a history (older than the state's records); #2 rejected (no child); a request
  // superseded before it was taken; #3 waiting for approval now.
  const facts: HistoryFacts = {
    runId: 'run-1',
    startedAt: '2024-05-01T09:59:00.000Z',
    carried: [],
    requests: [
      { at: '2024-05-01T10:00:00.000Z', request: request('a1', '1.0.0', 'prod: 1.0.0') },
      { at: '2024-05-01T11:00:00.000Z', request: request('b2', '1.1.0', 'prod: 1.1.0') },
      { at: '2024-05-01T12:00:00.000Z', request: request('c3', '1.2.0', 'prod: 1.2.0') },
      { at: '2024-05-01T12:00:10.000Z', request: { ...request('d4', '1.3.0', 'prod: 1.3.0\n\nlonger text'), pushedBy: 'Quinn' } },
    ],
    previews: [
      { at: '2024-05-01T10:00:01.000Z', commit: sha('a1'), changes: ['Add Pipeline (AWS::CodePipeline::Pipeline)'] },
      { at: '2024-05-01T11:00:02.000Z', commit: sha('b2'), changes: ['Modify Pipeline (AWS::CodePipeline::Pipeline): Properties'] },
      { at: '2024-05-01T12:00:11.000Z', commit: sha('d4'), changes: [] },
    ],
    decisions: [
      { at: '2024-05-01T10:04:00.000Z', kind: 'approve', by: 'Dana Developer' },
      { at: '2024-05-01T10:05:00.000Z', kind: 'approve', by: 'Avery Approver', comment: 'go' },
      { at: '2024-05-01T11:30:00.000Z', kind: 'reject', by: 'Bob', comment: 'not today' },
    ],
    deployments: [
      {
        number: 1,
        workflowId: `cfn-gitops/prod/1-sync-a10000000000`,
        initiatedAt: '2024-05-01T10:05:00.000Z',
        startedAt: '2024-05-01T10:05:00.100Z',
        request: request('a1', '1.0.0', 'prod: 1.0.0'),
        outcome: { result: 'Succeeded', at: '2024-05-01T10:07:00.000Z', pipelineExecutionId: 'e1', deployedVersion: '1.0.0', message: 'prod: app 1.0.0 deployed by execution e1' },
      },
    ],
  };
  const state: EnvironmentState = {
    environment: 'prod',
    phase: 'WaitingForApproval',
    deploymentCount: 3,
    successfulVersions: [],
    deployedVersion: '1.0.0',
    current: { number: 3, action: 'sync', commit: sha('d4'), appVersion: '1.3.0', requestedAt: '2024-05-01T12:00:10.000Z', startedAt: '2024-05-01T12:00:10.000Z' },
    history: [
      { number: 3, action: 'sync', commit: sha('d4'), appVersion: '1.3.0', requestedAt: '2024-05-01T12:00:10.000Z', startedAt: '2024-05-01T12:00:10.000Z' },
      { number: 0, action: 'sync', commit: sha('c3'), appVersion: '1.2.0', requestedAt: '2024-05-01T12:00:00.000Z', endedAt: '2024-05-01T12:00:10.000Z', result: 'Superseded', message: 'superseded by d400000 before it started' },
      {
        number: 2,
        action: 'sync',
        commit: sha('b2'),
        appVersion: '1.1.0',
        requestedAt: '2024-05-01T11:00:00.000Z',
        startedAt: '2024-05-01T11:00:00.000Z',
        endedAt: '2024-05-01T11:30:00.000Z',
        result: 'Rejected',
        message: 'rejected by Bob: not today; AWS untouched',
      },
    ],
  };

  it('lists every request once, newest first, with what each step took', () => {
    const page = buildTimeline({ environment: 'prod', state, runs: [facts], link });
    expect(page.deployments.map((d) => [d.number, d.commit.sha.slice(0, 2), d.status])).toEqual([
      [3, 'd4', 'WaitingForApproval'],
      [0, 'c3', 'Superseded'],
      [2, 'b2', 'Rejected'],
      [1, 'a1', 'Succeeded'],
    ]);
    const [waiting, superseded, rejected, first] = page.deployments;
    expect(waiting).toEqual({
      number: 3,
      action: 'sync',
      status: 'WaitingForApproval',
      commit: request('d4', '1.3.0', 'prod: 1.3.0\n\nlonger text').commit,
      pushedBy: 'Quinn',
      reason: 'config changed',
      desiredVersion: '1.3.0',
      changeSetPreview: [],
      requestedAt: '2024-05-01T12:00:10.000Z',
      startedAt: '2024-05-01T12:00:10.000Z',
      durations: { queuedMs: 0 },
    });
    expect(superseded).toMatchObject({ number: 0, message: 'superseded by d400000 before it started', durations: { totalMs: 10_000 } });
    expect(superseded!.changeSetPreview).toBeUndefined();
    expect(rejected).toMatchObject({
      status: 'Rejected',
      changeSetPreview: ['Modify Pipeline (AWS::CodePipeline::Pipeline): Properties'],
      message: 'rejected by Bob: not today; AWS untouched',
      durations: { queuedMs: 0, approvalMs: 1_800_000, totalMs: 1_800_000 },
    });
    expect(rejected!.approvedBy).toBeUndefined();
    expect(rejected!.durations.deployMs).toBeUndefined();
    // Older than the records the state keeps: from the child and the decisions around it, the last approval before it started.
    expect(first).toEqual({
      number: 1,
      action: 'sync',
      status: 'Succeeded',
      result: 'Succeeded',
      commit: request('a1', '1.0.0', 'prod: 1.0.0').commit,
      pushedBy: 'Pat Pusher',
      reason: 'config changed',
      desiredVersion: '1.0.0',
      deployedVersion: '1.0.0',
      changeSetPreview: ['Add Pipeline (AWS::CodePipeline::Pipeline)'],
      approvedBy: 'Avery Approver',
      approvalComment: 'go',
      approvedAt: '2024-05-01T10:05:00.000Z',
      pipelineExecutionId: 'e1',
      message: 'prod: app 1.0.0 deployed by execution e1',
      workflowId: 'cfn-gitops/prod/1-sync-a10000000000',
      url: 'http://ui.test/cfn-gitops/prod/1-sync-a10000000000',
      requestedAt: '2024-05-01T10:00:00.000Z',
      deployStartedAt: '2024-05-01T10:05:00.100Z',
      endedAt: '2024-05-01T10:07:00.000Z',
      durations: { approvalMs: 299_000, deployMs: 119_900, totalMs: 420_000 },
    });
  });

  it("takes the approver the state recorded over a decision in the history, and the pending request's place in the queue", () => {
    const approved: EnvironmentState = {
      ...state,
      phase: 'Idle',
      current: undefined,
      pending: { number: 0, action: 'sync', commit: sha('e5'), appVersion: '1.4.0', requestedAt: '2024-05-01T13:00:00.000Z' },
      history: [
        {
          number: 1,
          action: 'sync',
          commit: sha('a1'),
          appVersion: '1.0.0',
          requestedAt: '2024-05-01T10:00:00.000Z',
          startedAt: '2024-05-01T10:00:00.000Z',
          endedAt: '2024-05-01T10:07:00.000Z',
          result: 'Succeeded',
          approvedBy: 'Avery Approver',
          approvalComment: 'recorded',
          pipelineExecutionId: 'e1',
          workflowId: 'cfn-gitops/prod/1-sync-a10000000000',
        },
      ],
    };
    const page = buildTimeline({ environment: 'prod', state: approved, runs: [facts], link });
    expect(page.deployments.map((d) => [d.number, d.status])).toEqual([
      [0, 'Queued'],
      [1, 'Succeeded'],
    ]);
    expect(page.deployments[1]).toMatchObject({ approvedBy: 'Avery Approver', approvalComment: 'recorded', approvedAt: '2024-05-01T10:05:00.000Z', durations: { queuedMs: 0, approvalMs: 300_000 } });
  });

  it('pages from the newest: a page says where the next begins, the last says nothing', () => {
    const first = buildTimeline({ environment: 'prod', state, runs: [facts], link, limit: 2 });
    expect(first.deployments.map((d) => d.number)).toEqual([3, 0]);
    expect(first.next).toBe('2024-05-01T12:00:00.000Z');
    const second = buildTimeline({ environment: 'prod', state, runs: [facts], link, limit: 2, before: first.next });
    expect(second.deployments.map((d) => d.number)).toEqual([2, 1]);
    expect(second.next).toBeUndefined();
  });
});
