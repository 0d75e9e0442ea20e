import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { parseEnvironmentConfig } from '../common/config';
import { GitReadError, UsageError } from '../common/errors';
import { stateQuery, WorkflowType } from '../common/messages';
import { mapLimit } from '../common/concurrency';
import { CONFIG_FILE, environmentNameProblem, environmentWorkflowId } from '../common/names';
import { environmentsIn } from '../common/plan';
import { renderStatusDetail, renderStatusTable } from '../common/render';
import { APP_VERSION, DEPLOY_PHASE, ENVIRONMENT, GIT_COMMIT, SYNC_STATUS } from '../common/search-attributes';
import {
  deploymentsOf,
  filterRows,
  parseStatusFilter,
  statusRow,
  summaryOf,
  type EnvironmentDetail,
  type EnvironmentStatus,
  type GitDesired,
  type GitMain,
  type StatusFilter,
  type WorkflowFacts,
} from '../common/status';
import type { TemporalSettings } from '../common/temporal-settings';
import type { EnvironmentState } from '../common/types';
import { connectClient, workflowUrl } from './client';
import { createGitReader, type GitReader } from './git';
import { recentRollouts, type RolloutProgress } from './rollout';
import { ExitCode, type Output } from './start-command';

// The rows' types live with the model (common/status.ts); the server's metrics read them from here.
export type { ApprovalSummary, EnvironmentDetail, EnvironmentStatus, GitDesired, GitMain } from '../common/status';

/** An environment workflow as visibility lists it, with its environment's name. */
interface Listed extends WorkflowFacts {
  environment: string;
}

/** How long a `state` query may wait for a worker before the row falls back to the search attributes. */
const QUERY_TIMEOUT_MS = 5_000;

/** Running environment workflows, optionally of one environment. */
function listQuery(environment?: string): string {
  const base = `WorkflowType = "${WorkflowType.Environment}" AND ExecutionStatus = "Running"`;
  return environment ? `${base} AND Environment = "${environment}"` : base;
}

function attribute(info: WorkflowExecutionInfo, key: typeof ENVIRONMENT): string | undefined {
  const value = info.typedSearchAttributes.get(key);
  return typeof value === 'string' ? value : undefined;
}

/**
 * Environment states read earlier, for a process that reads the status again and again (the API
 * server): a workflow whose run and search attributes (`DeployPhase`, `SyncStatus`, `AppVersion`,
 * `GitCommit`) are what they were when its state was read keeps that state, so a read of 2,000
 * idle environments queries none of them. Every state change that matters to a row moves one of
 * those attributes (a deployment's phases, its result, a sync finding); what does not (a request
 * queued behind a running one, the time of a sweep that found nothing new) is caught up by
 * reading again, on each read, the few states held longest.
 */
export interface StateCache {
  /** How many of the states held longest each read queries again, though their attributes did not move. */
  readonly readAgain: number;
  /** The state read for this workflow while its attributes were `fingerprint`, if any. */
  get(workflowId: string, fingerprint: string): EnvironmentState | undefined;
  set(workflowId: string, fingerprint: string, state: EnvironmentState): void;
  /** Of these workflows, the `count` whose states were read longest ago. */
  oldest(workflowIds: string[], count: number): string[];
  /** Forgets every workflow but these. */
  retain(workflowIds: Set<string>): void;
}

/**
 * A {@link StateCache} in memory; `readAgain` states held longest are read again on each read (default 32).
 * @example const states = createStateCache(); await collectDetails({ client, settings, states })
 */
export function createStateCache(options: { readAgain?: number } = {}): StateCache {
  const held = new Map<string, { fingerprint: string; state: EnvironmentState; readAt: number }>();
  let reads = 0;
  return {
    readAgain: options.readAgain ?? 32,
    get(workflowId, fingerprint) {
      const entry = held.get(workflowId);
      return entry && entry.fingerprint === fingerprint ? entry.state : undefined;
    },
    set(workflowId, fingerprint, state) {
      held.set(workflowId, { fingerprint, state, readAt: ++reads });
    },
    oldest(workflowIds, count) {
      if (count <= 0) return [];
      return workflowIds
        .filter((id) => held.has(id))
        .sort((a, b) => held.get(a)!.readAt - held.get(b)!.readAt)
        .slice(0, count);
    },
    retain(workflowIds) {
      for (const id of held.keys()) if (!workflowIds.has(id)) held.delete(id);
    },
  };
}

/** What a workflow's search attributes say of its state: unchanged, its state is too. */
function fingerprintOf(info: WorkflowExecutionInfo): string {
  return [info.runId, attribute(info, DEPLOY_PHASE), attribute(info, SYNC_STATUS), attribute(info, APP_VERSION), attribute(info, GIT_COMMIT)].join('|');
}

/**
 * Every running environment workflow (or one), each with its `state` query answer; a workflow
 * whose query fails (no worker polling, for instance) keeps what its search attributes say.
 * With a cache, only the workflows whose search attributes changed, and the few states held
 * longest, are queried; a query that fails keeps a state held for the same attributes.
 */
async function listEnvironments(client: Client, options: { environment?: string; queryTimeoutMs?: number; states?: StateCache } = {}): Promise<Listed[]> {
  const { states } = options;
  const infos: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query: listQuery(options.environment) })) infos.push(info);
  const fingerprints = new Map(infos.map((info) => [info.workflowId, fingerprintOf(info)]));
  const held = new Map<string, EnvironmentState>();
  if (states) {
    for (const info of infos) {
      const state = states.get(info.workflowId, fingerprints.get(info.workflowId)!);
      if (state) held.set(info.workflowId, state);
    }
    for (const id of states.oldest([...held.keys()], states.readAgain)) held.delete(id);
  }
  const listed = await mapLimit(infos, 16, async (info): Promise<Listed> => {
    const name = attribute(info, ENVIRONMENT) ?? info.workflowId.replace(/^cfn-gitops\//, '');
    let state = held.get(info.workflowId);
    if (!state) {
      try {
        // Without a worker a query waits for one until its deadline: keep that short.
        state = await client.connection.withDeadline(Date.now() + (options.queryTimeoutMs ?? QUERY_TIMEOUT_MS), () => client.workflow.getHandle(info.workflowId).query(stateQuery));
        states?.set(info.workflowId, fingerprints.get(info.workflowId)!, state);
      } catch {
        state = states?.get(info.workflowId, fingerprints.get(info.workflowId)!);
      }
    }
    return {
      environment: state?.environment ?? name,
      workflowId: info.workflowId,
      state,
      attributes: { phase: attribute(info, DEPLOY_PHASE), appVersion: attribute(info, APP_VERSION), syncStatus: attribute(info, SYNC_STATUS) },
    };
  });
  if (states && !options.environment) states.retain(new Set(infos.map((info) => info.workflowId)));
  // The environment workflow id is the lock: at most one runs per environment.
  return listed.filter((l) => l.workflowId === environmentWorkflowId(l.environment));
}

/**
 * Reads git main: its commit and each environment folder's app version.
 * The branch is `main` (or `origin/main` in a clone that lacks the local branch), else HEAD.
 * @throws GitReadError when the repository has no commit at all.
 */
export async function readGitMain(git: GitReader): Promise<GitMain> {
  let commit: string | undefined;
  for (const rev of ['refs/heads/main', 'refs/remotes/origin/main', 'HEAD']) {
    commit = await git.resolve(rev);
    if (commit) break;
  }
  if (!commit) throw new GitReadError('.', 'no main branch and no HEAD commit');
  const snapshot = await git.snapshot(commit);
  const environments = new Map<string, GitDesired>();
  for (const environment of environmentsIn(snapshot.files)) {
    const file = `${environment}/${CONFIG_FILE}`;
    try {
      environments.set(environment, { appVersion: parseEnvironmentConfig(snapshot.files[file]!, file, environment).appVersion });
    } catch (error) {
      environments.set(environment, { error: (error as Error).message });
    }
  }
  return { commit, environments };
}

/** Options of {@link collectStatus}. */
export interface StatusOptions {
  client: Client;
  settings: TemporalSettings;
  /** The GitOps repo: desired versions come from its main; without it, from what the workflows last received. */
  git?: GitReader;
  /** Only this environment. */
  environment?: string;
  /** How long each workflow's `state` query may take (default 5 s); past it the row comes from search attributes. */
  queryTimeoutMs?: number;
  /** States read before, reused while a workflow's search attributes are unchanged (a server's repeated reads). */
  states?: StateCache;
}

/**
 * Every environment with its recent deployments (running and pending first): every running
 * environment workflow, plus (with git) every folder on main that has none yet. Sorted by name.
 * @throws the client's error when Temporal cannot be reached; GitReadError when the repo cannot be read.
 */
export async function collectDetails(options: StatusOptions): Promise<EnvironmentDetail[]> {
  const [listed, git, rollouts] = await Promise.all([
    listEnvironments(options.client, { environment: options.environment, queryTimeoutMs: options.queryTimeoutMs, states: options.states }),
    options.git ? readGitMain(options.git) : undefined,
    // A list and a query per running rollout (usually none), and the results of the newest few that
    // ended: no search attribute to register, and a rollout's wave is its own state.
    recentRollouts(options.client).catch(() => []),
  ]);
  const byName = new Map(listed.map((l) => [l.environment, l]));
  const names = new Set(byName.keys());
  for (const name of git?.environments.keys() ?? []) if (!options.environment || name === options.environment) names.add(name);
  const link = (workflowId: string) => workflowUrl(options.settings, workflowId);
  return [...names]
    .sort((a, b) => a.localeCompare(b))
    .map((environment) => {
      const workflow = byName.get(environment);
      const row = statusRow({ environment, workflow, git, url: link(workflow?.workflowId ?? environmentWorkflowId(environment)) });
      const rollout = rolloutOf(rollouts, environment, workflow?.state);
      return { ...row, ...(rollout ? { rollout } : {}), deployments: deploymentsOf(workflow?.state, link) };
    });
}

/**
 * The rollout an environment's row shows: the newest it is in, while it runs; once it ended, only
 * when it halted the environment and the environment has taken no request since it started.
 */
function rolloutOf(rollouts: RolloutProgress[], environment: string, state: EnvironmentState | undefined): EnvironmentStatus['rollout'] {
  const progress = rollouts.find((r) => r.waveOf.has(environment));
  if (!progress) return undefined;
  const row = { wave: progress.waveOf.get(environment)!, running: progress.wave, waves: progress.waves, commit: progress.commit, workflowId: progress.workflowId };
  if (!progress.halted) return row;
  const halted = progress.halted.get(environment);
  const latest = Date.parse(state?.pending?.requestedAt ?? state?.current?.requestedAt ?? state?.history[0]?.requestedAt ?? '');
  if (halted === undefined || latest >= (progress.startedAt ?? 0)) return undefined;
  return { ...row, halted };
}

/**
 * One row per environment, desired against deployed, sorted by name.
 * @throws the client's error when Temporal cannot be reached; GitReadError when the repo cannot be read.
 * @example const rows = await collectStatus({ client, settings, git: createGitReader('.') });
 */
export async function collectStatus(options: StatusOptions): Promise<EnvironmentStatus[]> {
  return (await collectDetails(options)).map(summaryOf);
}

/** One environment with its recent deployments, or undefined when neither a workflow nor (with git) a folder on main knows it. */
export async function environmentDetail(options: StatusOptions & { environment: string }): Promise<EnvironmentDetail | undefined> {
  return (await collectDetails(options))[0];
}

/** Flags of `cfn-gitops status`. */
export interface StatusFlags {
  /** Read desired versions from this repo's main. */
  repo?: string;
  /** Print JSON: the rows as `GET /api/environments` gives them. */
  json?: boolean;
  /** Only rows with one of these sync statuses (`OutOfSync,Drifted`), as the API's `syncStatus`. */
  syncStatus?: string;
  /** Only rows in one of these phases, as the API's `phase`. */
  phase?: string;
  /** Only environments whose name contains this text, as the API's `q`. */
  search?: string;
}

/** The filter the flags ask for. @throws UsageError for a value the filter does not take. */
function filterOf(flags: StatusFlags): StatusFilter {
  try {
    return parseStatusFilter({ syncStatus: flags.syncStatus, phase: flags.phase, q: flags.search });
  } catch (error) {
    const flag = { syncStatus: '--sync-status', phase: '--phase', q: '--search' } as Record<string, string>;
    throw new UsageError((error as Error).message.replace(/^(\w+):/, (_match, name: string) => `${flag[name] ?? name}:`));
  }
}

/**
 * `cfn-gitops status [ENV]`: one row per environment, desired against deployed, optionally
 * filtered as the API filters. Exits 1 when the named environment is unknown.
 * @throws UsageError for a name that cannot be an environment, a filter value it does not take, or a filter beside a name.
 * @example await statusCommand(undefined, { repo: '.', json: true, syncStatus: 'OutOfSync' }, readTemporalSettings(), output)
 */
export async function statusCommand(environment: string | undefined, flags: StatusFlags, settings: TemporalSettings, output: Output): Promise<number> {
  const problem = environment === undefined ? undefined : environmentNameProblem(environment);
  if (problem) throw new UsageError(problem);
  const filter = filterOf(flags);
  if (environment !== undefined && Object.keys(filter).length > 0) throw new UsageError('--sync-status, --phase and --search filter the list: name no environment with them');
  const temporal = await connectClient(settings);
  try {
    const options: StatusOptions = { client: temporal.client, settings, git: flags.repo ? createGitReader(flags.repo) : undefined };
    const now = Date.now();
    if (environment) {
      const detail = await environmentDetail({ ...options, environment });
      if (!detail) {
        output.err(`cfn-gitops: no environment ${environment}: no workflow ${environmentWorkflowId(environment)} runs${flags.repo ? ' and main has no such folder' : ''}`);
        return ExitCode.Failed;
      }
      output.out(flags.json ? JSON.stringify(detail, null, 2) : renderStatusDetail(detail, now));
      return ExitCode.Ok;
    }
    const all = await collectStatus(options);
    const rows = filterRows(all, filter);
    if (!flags.json && rows.length === 0 && all.length > 0) output.out(`no environment matches the filter (${all.length} environment(s) in all)`);
    else output.out(flags.json ? JSON.stringify(rows, null, 2) : renderStatusTable(rows, now));
    return ExitCode.Ok;
  } finally {
    await temporal.close();
  }
}
