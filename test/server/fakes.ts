/** Small builders for the server tests: environment states and a Temporal client over them. */
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, defaultFailureConverter, defaultPayloadConverter, TypedSearchAttributes } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { DEPLOY_PHASE, ENVIRONMENT } from '../../common/search-attributes';
import type { TemporalSettings } from '../../common/temporal-settings';
import type { StoreTemplatesInput } from '../../common/templates';
import type { DeploymentRecord, DesiredState, EnvironmentState, PendingApproval } from '../../common/types';
import { commit } from '../support/fixtures';

export const TEMPORAL: TemporalSettings = { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'cfn-gitops', uiUrl: 'http://ui.test' };

/** A finished deployment record. */
export function record(number: number, result: DeploymentRecord['result'], appVersion: string, minutes = 2, endedAt = '2024-05-01T12:00:00.000Z'): DeploymentRecord {
  const end = Date.parse(endedAt);
  return {
    number,
    action: 'sync',
    commit: commit(`c${number}`).sha,
    appVersion,
    requestedAt: new Date(end - minutes * 60_000 - 1000).toISOString(),
    startedAt: new Date(end - minutes * 60_000).toISOString(),
    endedAt,
    result,
    message: `${result} #${number}`,
    workflowId: `cfn-gitops/env/${number}-sync-c${number}`,
  };
}

/** An idle environment that deployed `version`, with the given history (most recent first). */
export function idleState(environment: string, version: string, history: DeploymentRecord[] = [record(1, 'Succeeded', version)]): EnvironmentState {
  return {
    environment,
    phase: 'Idle',
    deploymentCount: history.length,
    successfulVersions: [],
    desired: { commit: history[0]?.commit ?? commit('c0').sha, generation: 1, appVersion: version, action: 'sync' },
    applied: { commit: history[0]?.commit ?? commit('c0').sha, generation: 1, appVersion: version, at: '2024-05-01T12:00:00.000Z' },
    deployedVersion: version,
    lastResult: history[0],
    history,
    sync: { status: 'Synced', checkedAt: '2024-05-01T12:00:00.000Z', desiredVersion: version, deployedVersion: version, drifted: [], message: 'deployed' },
  };
}

/** An environment waiting for approval of `next` while `current` runs in AWS. */
export function waitingState(environment: string, current: string, next: string): EnvironmentState {
  const state = idleState(environment, current);
  const approval: PendingApproval = {
    environment,
    commit: { ...commit('d1d1d1d1', 2), author: { name: 'Dana <Developer>', email: 'dana@example.com' } },
    currentVersion: current,
    newVersion: next,
    action: 'sync',
    requestedAt: '2024-05-01T12:10:00.000Z',
    expiresAt: '2024-05-08T12:10:00.000Z',
  };
  return {
    ...state,
    phase: 'WaitingForApproval',
    deploymentCount: 2,
    desired: { commit: approval.commit.sha, generation: 2, appVersion: next, action: 'sync' },
    current: { number: 2, action: 'sync', commit: approval.commit.sha, appVersion: next, requestedAt: approval.requestedAt, startedAt: approval.requestedAt },
    approval,
    sync: { ...state.sync!, status: 'Progressing' },
  };
}

/** What the fake client was asked. */
export interface FakeCalls {
  updates: { workflowId: string; name: string; args: unknown[] }[];
  submitted: DesiredState[];
  /** Template store workflows started by `start`. */
  storedTemplates: StoreTemplatesInput[];
  /** Workflows asked their `state` query, in order. */
  queries: string[];
  /** Histories fetched: `<workflow id>@<run id, or latest>`. */
  histories: string[];
}

/** One run of a workflow's history, as a recorded file holds it (`JSON.stringify(await handle.fetchHistory())`). */
export interface FakeRun {
  runId: string;
  open: boolean;
  startTime: Date;
  /** The history in protobuf.js's object form. */
  history: object;
}

/**
 * A Temporal client over fixed states: list, query, approve/reject/cancel updates (refused with
 * `refuse` when set) and update-with-start (answers `accepted`); with `runs`, a visibility query
 * `WorkflowId = "<id>" …` lists that workflow's runs and their histories can be fetched.
 */
export function fakeClient(
  states: EnvironmentState[],
  options: { refuse?: string; queryFails?: boolean; unreachable?: boolean; runs?: Record<string, FakeRun[]> } = {},
): { client: Client; calls: FakeCalls } {
  const calls: FakeCalls = { updates: [], submitted: [], storedTemplates: [], queries: [], histories: [] };
  const find = (id: string) => states.find((s) => `cfn-gitops/${s.environment}` === id);
  const client = {
    options: { loadedDataConverter: { payloadConverter: defaultPayloadConverter, failureConverter: defaultFailureConverter, payloadCodecs: [] } },
    connection: { withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn() },
    workflowService: {
      describeNamespace: async () => {
        if (options.unreachable) throw new Error('14 UNAVAILABLE: connection refused');
        return {};
      },
    },
    workflow: {
      list: ({ query }: { query?: string } = {}) =>
        (async function* () {
          if (options.unreachable) throw new Error('14 UNAVAILABLE: connection refused');
          const runsOf = /^WorkflowId = "([^"]+)"/.exec(query ?? '')?.[1];
          if (runsOf !== undefined) {
            for (const run of options.runs?.[runsOf] ?? []) yield { workflowId: runsOf, runId: run.runId, type: 'environmentWorkflow', status: { name: run.open ? 'RUNNING' : 'COMPLETED' }, startTime: run.startTime };
            return;
          }
          // Only environment workflows are held: a list of another type finds none.
          const type = /WorkflowType = ["']([^"']+)["']/.exec(query ?? '')?.[1];
          if (type !== undefined && type !== 'environmentWorkflow') return;
          for (const s of states) {
            yield {
              workflowId: `cfn-gitops/${s.environment}`,
              typedSearchAttributes: new TypedSearchAttributes([
                { key: ENVIRONMENT, value: s.environment },
                { key: DEPLOY_PHASE, value: s.phase },
              ]),
            };
          }
        })(),
      getHandle: (workflowId: string, runId?: string) => ({
        fetchHistory: async () => {
          calls.histories.push(`${workflowId}@${runId ?? 'latest'}`);
          const run = (options.runs?.[workflowId] ?? []).find((r) => r.runId === runId) ?? options.runs?.[workflowId]?.[0];
          if (!run) throw Object.assign(new Error(`workflow ${workflowId} not found`), { name: 'WorkflowNotFoundError' });
          return temporal.api.history.v1.History.fromObject(run.history);
        },
        query: async () => {
          calls.queries.push(workflowId);
          if (options.queryFails) throw new Error('no poller');
          const state = find(workflowId);
          if (!state) throw Object.assign(new Error('workflow not found'), { name: 'WorkflowNotFoundError' });
          return state;
        },
        executeUpdate: async (definition: { name: string } | string, { args }: { args: unknown[] }) => {
          const name = typeof definition === 'string' ? definition : definition.name;
          if (!find(workflowId)) throw Object.assign(new Error(`workflow ${workflowId} not found`), { name: 'WorkflowNotFoundError' });
          calls.updates.push({ workflowId, name, args });
          if (options.refuse) throw new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ message: options.refuse }));
          const by = (args[0] as { by: string }).by;
          return { environment: workflowId.replace('cfn-gitops/', ''), accepted: true, message: `${name === 'approve' ? 'approved' : name === 'reject' ? 'rejected' : 'cancel requested'} by ${by}` };
        },
      }),
      // The template store workflow: the bodies are taken as stored, by the hashes `start` gave.
      execute: async (_type: string, { args }: { args: [StoreTemplatesInput] }) => {
        calls.storedTemplates.push(args[0]);
        return args[0].templates.map(({ sha256, body }) => ({ sha256, bytes: Buffer.byteLength(body, 'utf8') }));
      },
      executeUpdateWithStart: async (_update: unknown, { args }: { args: [DesiredState] }) => {
        calls.submitted.push(args[0]);
        return { outcome: 'accepted', message: 'taken' };
      },
    },
  };
  return { client: client as unknown as Client, calls };
}
