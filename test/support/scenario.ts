/**
 * What the guarantee tests (races, faults, chaos, server restart) share: the worker's settings,
 * a GitOps repo holding only the environments a test names, the real CLI's `start --json`, the
 * environment workflow's state, the checks of the emulator's operations log, and the recording
 * of their workflow histories into `test/histories/` for the replay test.
 */
import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { stateQuery, WorkflowType } from '../../common/messages';
import { environmentWorkflowId } from '../../common/names';
import type { EnvironmentState } from '../../common/types';
import type { StartEntry, StartReport } from '../../starter/start';
import type { TestAws } from './aws';
import { runCli, type CliResult } from './cli';
import { createTestRepo, type TestRepo } from './gitops-repo';

/** Stack and pipeline name prefix of the example repo. */
export const PREFIX = 'cfn-gitops-';
/** The first push's `before`. */
export const ZEROS = '0'.repeat(40);

/** Set to 1 by `scripts/record-histories.sh`: the tests then write their histories to test/histories/. */
export const RECORDING = process.env.CFN_GITOPS_RECORD_HISTORIES === '1';
/** Where the committed histories live, one folder per scenario. */
export const HISTORIES_DIR = path.resolve(__dirname, '..', 'histories');

/**
 * Settings of a worker (and of the CLI) against the emulator on the shared dev server: fast
 * polling where the figures do not matter, no protected environments and no drift schedule
 * unless `extra` says otherwise.
 */
export function workerEnv(aws: TestAws, namespace: string, taskQueue: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...aws.env,
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: namespace,
    CFN_GITOPS_TASK_QUEUE: taskQueue,
    CFN_GITOPS_PROTECTED_ENVIRONMENTS: '',
    CFN_GITOPS_POLL_MIN: '100ms',
    CFN_GITOPS_POLL_MAX: '500ms',
    CFN_GITOPS_DRIFT_INTERVAL: '0',
    ...extra,
  };
}

/** An environment's config file. */
export function configYaml(appVersion: string, instanceType = 't3.micro'): string {
  return `appVersion: "${appVersion}"\nparameters:\n  InstanceType: ${instanceType}\n`;
}

/** A repo made from the example whose environments are exactly `environments` (name → app version); HEAD is that commit. */
export async function createRepoWith(environments: Record<string, string>): Promise<TestRepo> {
  const repo = await createTestRepo();
  const files: Record<string, string | null> = { development: null, featureX: null, prod: null };
  for (const [environment, version] of Object.entries(environments)) files[`${environment}/config.yaml`] = configYaml(version);
  await repo.commit(`environments: ${Object.keys(environments).join(', ')}`, files);
  return repo;
}

/** `cfn-gitops start --json` as CI runs it, with its report parsed. */
export interface StartRun extends CliResult {
  report: StartReport;
  /** The report's entry of one environment. */
  entry(environment: string): StartEntry;
}

/** Runs `cfn-gitops start --repo R --before B --after A --json [--wait]`. */
export async function cliStart(env: NodeJS.ProcessEnv, repo: TestRepo, before: string, after: string, options: { wait?: boolean; timeoutMs?: number } = {}): Promise<StartRun> {
  const args = ['start', '--repo', repo.dir, '--before', before, '--after', after, '--json', ...(options.wait ? ['--wait'] : [])];
  const result = await runCli(args, { env, timeoutMs: options.timeoutMs ?? 150_000 });
  let report: StartReport;
  try {
    report = JSON.parse(result.stdout) as StartReport;
  } catch {
    throw new Error(`cfn-gitops ${args.join(' ')} exited ${result.code} without a JSON report:\n${result.stdout}\n${result.stderr}`);
  }
  return {
    ...result,
    report,
    entry(environment) {
      const found = report.environments.find((e) => e.environment === environment);
      if (!found) throw new Error(`no entry for ${environment} in ${JSON.stringify(report.environments)}`);
      return found;
    },
  };
}

/** A Temporal client on the shared dev server. */
export async function connectTemporal(namespace: string, address = process.env.TEMPORAL_ADDRESS): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection, namespace }), close: () => connection.close() };
}

/** The names of the activities a workflow history scheduled, in order. */
export function scheduledActivities(history: temporal.api.history.v1.IHistory): string[] {
  return (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name ?? ''] : []));
}

/** The environment workflow's state, as `cfn-gitops status` reads it. */
export function environmentState(client: Client, environment: string): Promise<EnvironmentState> {
  return client.workflow.getHandle(environmentWorkflowId(environment)).query(stateQuery);
}

/** Polls the environment's state until `check` holds; throws with the last state after `timeoutMs`. */
export async function waitForState(client: Client, environment: string, check: (state: EnvironmentState) => boolean, what: string, timeoutMs = 60_000): Promise<EnvironmentState> {
  const deadline = Date.now() + timeoutMs;
  let last: EnvironmentState | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await environmentState(client, environment);
      if (check(last)) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${environment}: not ${what} after ${timeoutMs} ms; state: ${JSON.stringify(last ?? String(lastError))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** One entry of the emulator's operations log. */
export interface Operation {
  id: string;
  kind: 'stack' | 'pipeline';
  operation: string;
  target: string;
  startedAt: string;
  endedAt?: string;
  status: string;
  clientRequestToken?: string;
  pipelineExecutionId?: string;
}

/** One entry of the emulator's call log. */
export interface Call {
  time: string;
  service: string;
  operation: string;
  target?: string;
  status: number;
  errorCode?: string;
}

/** The emulator's operations log, oldest first. */
export async function operationsLog(aws: TestAws): Promise<Operation[]> {
  return (await aws.control<{ operations: Operation[] }>('GET', '/operations')).operations;
}

/** The emulator's call log, oldest first, optionally of one operation. */
export async function callLog(aws: TestAws, operation?: string): Promise<Call[]> {
  return (await aws.control<{ calls: Call[] }>('GET', `/calls${operation ? `?operation=${operation}` : ''}`)).calls;
}

/** The environment a stack or pipeline name belongs to. */
export function environmentOf(target: string): string {
  return target.slice(PREFIX.length).replace(/-pipeline$/, '');
}

/** Operations of one environment's pipeline stack, environment stack and pipeline. */
export function operationsOf(operations: Operation[], environment: string): Operation[] {
  return operations.filter((op) => op.target.startsWith(PREFIX) && environmentOf(op.target) === environment);
}

const time = (iso: string | undefined) => (iso ? Date.parse(iso) : Number.POSITIVE_INFINITY);
const label = (op: Operation) => `${op.operation} ${op.target} [${op.startedAt} – ${op.endedAt ?? 'running'}]`;

/**
 * Every pair of one environment's operations that ran at the same time, described. What AWS
 * itself runs inside an operation is part of it: the environment stack's create or update run
 * by a pipeline execution's deploy action, and the execution a new pipeline starts by itself
 * while its stack is being created. Everything else the product starts must follow what ran
 * before it.
 */
export function overlaps(operations: Operation[]): string[] {
  const found: string[] = [];
  const environments = new Set(operations.filter((op) => op.target.startsWith(PREFIX)).map((op) => environmentOf(op.target)));
  for (const environment of environments) {
    const mine = operationsOf(operations, environment);
    const executions = mine.filter((op) => op.kind === 'pipeline');
    const creates = mine.filter((op) => op.operation === 'CREATE_STACK' && op.target === `${PREFIX}${environment}-pipeline`);
    const units: { start: number; end: number; ops: Operation[] }[] = [];
    for (const op of mine) {
      const start = time(op.startedAt);
      const end = time(op.endedAt);
      const byExecution = op.kind === 'stack' && op.target === `${PREFIX}${environment}` && op.operation !== 'DELETE_STACK' &&
        executions.some((e) => time(e.startedAt) <= start && end <= time(e.endedAt));
      if (byExecution) continue;
      const initial = op.kind === 'pipeline' && creates.find((c) => time(c.startedAt) <= start && start <= time(c.endedAt));
      if (initial) continue;
      const unit = { start, end, ops: [op] };
      if (op.operation === 'CREATE_STACK' && op.kind === 'stack') {
        for (const e of executions) {
          if (start <= time(e.startedAt) && time(e.startedAt) <= end) {
            unit.end = Math.max(unit.end, time(e.endedAt));
            unit.ops.push(e);
          }
        }
      }
      units.push(unit);
    }
    units.sort((a, b) => a.start - b.start);
    for (let i = 0; i < units.length; i++) {
      for (let j = i + 1; j < units.length && units[j]!.start < units[i]!.end; j++) {
        found.push(`${environment}: ${units[i]!.ops.map(label).join(' + ')} overlaps ${units[j]!.ops.map(label).join(' + ')}`);
      }
    }
  }
  return found;
}

/** The file a workflow's history is kept in: `/` in the workflow id becomes `__` (environment names hold no `_`). */
export function historyFileName(workflowId: string, run = 1): string {
  return `${workflowId.replaceAll('/', '__')}${run > 1 ? `.run${run}` : ''}.json`;
}

/** The workflow id a history file belongs to. */
export function workflowIdOfHistoryFile(file: string): string {
  return path.basename(file).replace(/(\.run\d+)?\.json$/, '').replaceAll('__', '/');
}

/**
 * With CFN_GITOPS_RECORD_HISTORIES=1, writes the history of the environment and deployment
 * workflows of `environments` that ran on `taskQueue` to `test/histories/<scenario>/`, replacing
 * what was there. Each environment's histories carry its templates in every desired state, so
 * tests keep the few environments whose paths the replay test needs.
 * @returns how many histories were written (0 when not recording).
 */
export async function recordHistories(client: Client, scenario: string, taskQueue: string, environments: string[]): Promise<number> {
  if (!RECORDING) return 0;
  const dir = path.join(HISTORIES_DIR, scenario);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const types: string[] = [WorkflowType.Environment, WorkflowType.Deployment];
  let written = 0;
  for await (const execution of client.workflow.list({ query: `TaskQueue = "${taskQueue}"` })) {
    if (!types.includes(execution.type) || !environments.includes(execution.workflowId.split('/')[1] ?? '')) continue;
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    let run = 1;
    while (existsSync(path.join(dir, historyFileName(execution.workflowId, run)))) run++;
    writeFileSync(path.join(dir, historyFileName(execution.workflowId, run)), JSON.stringify(history) + '\n');
    written++;
  }
  return written;
}
