import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { parseEnvironmentConfig } from '../common/config';
import { GitReadError, UsageError } from '../common/errors';
import { stateQuery, WorkflowType } from '../common/messages';
import { CONFIG_FILE, ENVIRONMENT_NAME_PATTERN, environmentWorkflowId, shortSha } from '../common/names';
import { environmentsIn } from '../common/plan';
import { textTable } from '../common/render';
import { APP_VERSION, DEPLOY_PHASE, ENVIRONMENT, SYNC_STATUS } from '../common/search-attributes';
import type { TemporalSettings } from '../common/temporal-settings';
import { DeployPhase, SyncStatus, type DeploymentRecord, type EnvironmentState } from '../common/types';
import { connectClient, workflowUrl } from './client';
import { createGitReader, type GitReader } from './git';
import { mapLimit } from '../common/concurrency';
import { ExitCode, type Output } from './start-command';

/** What git main says about one environment. */
export interface GitDesired {
  /** The config's `appVersion`; undefined when the config is invalid. */
  appVersion?: string;
  /** What is wrong with the config, with file and line. */
  error?: string;
}

/** The desired side: main's commit and each environment folder's version. */
export interface GitMain {
  commit: string;
  environments: Map<string, GitDesired>;
}

/** What waits for a person in one environment. */
export interface ApprovalSummary {
  currentVersion?: string;
  /** Undefined for a delete. */
  newVersion?: string;
  action: string;
  commit: string;
  author: string;
  requestedAt: string;
  expiresAt: string;
}

/** One environment's row in `cfn-gitops status`, `GET /api/environments` and the dashboard. */
export interface EnvironmentStatus {
  environment: string;
  /** Version git main asks for (with --repo), else the version the workflow last received. */
  desiredVersion?: string;
  /** Where the desired version comes from. */
  desiredSource: 'git' | 'workflow' | 'none';
  /** Commit of the desired state, when known. */
  desiredCommit?: string;
  /** The environment's config on main is invalid: the reason, with file and line. */
  desiredError?: string;
  /** The folder is gone from main (with --repo): the environment is deleted or being deleted. */
  removedFromGit?: boolean;
  /** `AppVersion` of the environment stack in AWS, as the workflow last saw it. */
  deployedVersion?: string;
  deployedCommit?: string;
  /** The workflow's phase; undefined when no workflow runs for the environment. */
  phase?: DeployPhase;
  syncStatus: SyncStatus;
  /** When the sync status was last checked against AWS (deployment end or drift sweep). */
  syncCheckedAt?: string;
  syncMessage?: string;
  /** How the last deployment ended. */
  lastResult?: string;
  lastResultAt?: string;
  lastResultMessage?: string;
  /** What runs now. */
  running?: { number: number; action: string; appVersion?: string; commit: string; pipelineExecutionId?: string };
  pendingApproval?: ApprovalSummary;
  /** Deployments numbered so far (survives continue-as-new). */
  deploymentCount?: number;
  workflowId: string;
  /** The environment workflow in the Temporal UI. */
  url: string;
  /** Where the row's workflow facts come from: the workflow's `state` query, or only its search attributes when the query failed. */
  source: 'query' | 'search-attributes' | 'none';
}

/** One environment in detail: its status and its recent deployments, most recent first. */
export interface EnvironmentDetail extends EnvironmentStatus {
  deployments: (DeploymentRecord & { url?: string })[];
}

/** An environment workflow as visibility lists it, with its state when the query answered. */
interface Listed {
  environment: string;
  workflowId: string;
  state?: EnvironmentState;
  attributes: { phase?: string; appVersion?: string; syncStatus?: string };
}

/** Phases in which a deployment is under way. */
const ACTIVE_PHASES: ReadonlySet<string> = new Set<DeployPhase>([
  DeployPhase.Queued,
  DeployPhase.PublishingSource,
  DeployPhase.CreatingPipeline,
  DeployPhase.UpdatingPipeline,
  DeployPhase.StartingPipeline,
  DeployPhase.RunningPipeline,
  DeployPhase.StoppingPipeline,
  DeployPhase.DeletingEnvironment,
  DeployPhase.DeletingPipeline,
]);

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
 * Every running environment workflow (or one), each with its `state` query answer; a workflow
 * whose query fails (no worker polling, for instance) keeps what its search attributes say.
 */
async function listEnvironments(client: Client, environment?: string, queryTimeoutMs = QUERY_TIMEOUT_MS): Promise<Listed[]> {
  const infos: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query: listQuery(environment) })) infos.push(info);
  const listed = await mapLimit(infos, 16, async (info): Promise<Listed> => {
    const name = attribute(info, ENVIRONMENT) ?? info.workflowId.replace(/^cfn-gitops\//, '');
    let state: EnvironmentState | undefined;
    try {
      // Without a worker a query waits for one until its deadline: keep that short.
      state = await client.connection.withDeadline(Date.now() + queryTimeoutMs, () => client.workflow.getHandle(info.workflowId).query(stateQuery));
    } catch {
      state = undefined;
    }
    return {
      environment: state?.environment ?? name,
      workflowId: info.workflowId,
      state,
      attributes: { phase: attribute(info, DEPLOY_PHASE), appVersion: attribute(info, APP_VERSION), syncStatus: attribute(info, SYNC_STATUS) },
    };
  });
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

/**
 * One row from a workflow's state (or search attributes) and git main. Pure.
 * @example statusRow({ environment: 'prod', workflowId: 'cfn-gitops/prod', url, listed, git })
 */
export function statusRow(input: { environment: string; url: string; listed?: Listed; git?: GitMain }): EnvironmentStatus {
  const { environment, listed, git } = input;
  const state = listed?.state;
  const inGit = git?.environments.get(environment);
  const phase = (state?.phase ?? listed?.attributes.phase) as DeployPhase | undefined;
  const deployedVersion = state ? state.deployedVersion : listed?.attributes.appVersion;
  const row: EnvironmentStatus = {
    environment,
    desiredSource: 'none',
    deployedVersion,
    deployedCommit: state?.applied?.commit,
    phase,
    deploymentCount: state?.deploymentCount,
    syncStatus: SyncStatus.Unknown,
    workflowId: listed?.workflowId ?? environmentWorkflowId(environment),
    url: input.url,
    source: state ? 'query' : listed ? 'search-attributes' : 'none',
  };
  if (git) {
    row.desiredSource = 'git';
    row.desiredCommit = git.commit;
    row.desiredVersion = inGit?.appVersion;
    row.desiredError = inGit?.error;
    row.removedFromGit = !inGit;
  } else if (state?.desired) {
    row.desiredSource = 'workflow';
    row.desiredCommit = state.desired.commit;
    row.desiredVersion = state.desired.appVersion;
    row.removedFromGit = state.desired.action === 'delete' ? true : undefined;
  }
  if (state?.sync) {
    row.syncCheckedAt = state.sync.checkedAt;
    row.syncMessage = state.sync.message;
  }
  const deploying = Boolean(state?.current) && phase !== DeployPhase.WaitingForApproval;
  row.syncStatus = syncStatusOf(row, state?.sync?.status ?? (listed?.attributes.syncStatus as SyncStatus | undefined), deploying);
  const last = state?.lastResult;
  if (last) {
    row.lastResult = last.result;
    row.lastResultAt = last.endedAt;
    row.lastResultMessage = last.message;
  }
  if (state?.current) {
    const c = state.current;
    row.running = { number: c.number, action: c.action, appVersion: c.appVersion, commit: c.commit, pipelineExecutionId: c.pipelineExecutionId };
  }
  if (state?.approval) {
    const a = state.approval;
    row.pendingApproval = {
      currentVersion: a.currentVersion,
      newVersion: a.newVersion,
      action: a.action,
      commit: a.commit.sha,
      author: a.commit.author.name,
      requestedAt: a.requestedAt,
      expiresAt: a.expiresAt,
    };
  }
  return row;
}

/**
 * Git against AWS, as Argo CD compares them: a deployment under way is Progressing (one that
 * waits for approval is not under way: it is out of sync until someone approves it); with git
 * main known, a folder without a workflow is Missing, a version that differs is OutOfSync and a
 * workflow whose folder is gone is Orphaned until it is deleted; otherwise the workflow's last check.
 */
function syncStatusOf(row: EnvironmentStatus, reported: SyncStatus | undefined, running: boolean): SyncStatus {
  if (running || (row.phase && ACTIVE_PHASES.has(row.phase))) return SyncStatus.Progressing;
  if (row.desiredSource === 'git') {
    if (row.removedFromGit) return row.phase === DeployPhase.Deleted ? SyncStatus.Synced : SyncStatus.Orphaned;
    if (!row.phase || row.phase === DeployPhase.Deleted) return SyncStatus.Missing;
    if (row.desiredVersion !== undefined && row.desiredVersion !== row.deployedVersion) return SyncStatus.OutOfSync;
  } else if (row.phase === DeployPhase.Deleted) {
    return SyncStatus.Synced;
  }
  if (reported === SyncStatus.Progressing) return row.desiredVersion === row.deployedVersion ? SyncStatus.Synced : SyncStatus.OutOfSync;
  return reported ?? (row.deployedVersion !== undefined && row.desiredVersion === row.deployedVersion ? SyncStatus.Synced : SyncStatus.Unknown);
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
}

/**
 * Every environment with its recent deployments (running and pending first): every running
 * environment workflow, plus (with git) every folder on main that has none yet. Sorted by name.
 * @throws the client's error when Temporal cannot be reached; GitReadError when the repo cannot be read.
 */
export async function collectDetails(options: StatusOptions): Promise<EnvironmentDetail[]> {
  const [listed, git] = await Promise.all([listEnvironments(options.client, options.environment, options.queryTimeoutMs), options.git ? readGitMain(options.git) : undefined]);
  const names = new Set(listed.map((l) => l.environment));
  for (const name of git?.environments.keys() ?? []) if (!options.environment || name === options.environment) names.add(name);
  return [...names]
    .sort((a, b) => a.localeCompare(b))
    .map((environment) => {
      const entry = listed.find((l) => l.environment === environment);
      const row = statusRow({ environment, listed: entry, git, url: workflowUrl(options.settings, entry?.workflowId ?? environmentWorkflowId(environment)) });
      const state = entry?.state;
      const deployments = state
        ? [state.current, state.pending, ...state.history]
            .filter((r): r is DeploymentRecord => r !== undefined)
            .filter((r, index, all) => all.findIndex((o) => o.number === r.number && o.commit === r.commit) === index)
            .map((r) => (r.workflowId ? { ...r, url: workflowUrl(options.settings, r.workflowId) } : r))
        : [];
      return { ...row, deployments };
    });
}

/**
 * One row per environment, desired against deployed, sorted by name.
 * @throws the client's error when Temporal cannot be reached; GitReadError when the repo cannot be read.
 * @example const rows = await collectStatus({ client, settings, git: createGitReader('.') });
 */
export async function collectStatus(options: StatusOptions): Promise<EnvironmentStatus[]> {
  return (await collectDetails(options)).map(({ deployments: _deployments, ...row }) => row);
}

/** One environment with its recent deployments, or undefined when neither a workflow nor (with git) a folder on main knows it. */
export async function environmentDetail(options: StatusOptions & { environment: string }): Promise<EnvironmentDetail | undefined> {
  return (await collectDetails(options))[0];
}

/** "42s ago", "5m ago", "3h ago", "2d ago"; "-" when absent. */
export function ago(iso: string | undefined, now: number): string {
  if (!iso) return '-';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (!Number.isFinite(seconds)) return '-';
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

/** The desired column: the version, `(removed)`, `invalid` or `-`. */
export function desiredText(row: EnvironmentStatus): string {
  if (row.desiredError) return 'invalid config';
  if (row.removedFromGit) return '(removed)';
  return row.desiredVersion ?? '-';
}

/** The approval column: `1.4.1 → 1.5.0 by Dana`, or `-`. */
export function approvalText(row: EnvironmentStatus): string {
  const a = row.pendingApproval;
  if (!a) return '-';
  return `${a.currentVersion ?? 'none'} → ${a.newVersion ?? 'delete'} (${shortSha(a.commit)} by ${a.author})`;
}

/**
 * The status table for a terminal. Pure.
 * @example renderStatusTable(rows, Date.now())
 */
export function renderStatusTable(rows: EnvironmentStatus[], now: number): string {
  if (rows.length === 0) return 'no environments: no environment workflow runs and no folder on main';
  const note = unansweredNote(rows);
  return (note ? `note: ${note}\n` : '') + textTable(
    ['ENVIRONMENT', 'DESIRED', 'DEPLOYED', 'PHASE', 'SYNC', 'CHECKED', 'LAST RESULT', 'PENDING APPROVAL', 'TEMPORAL UI'],
    rows.map((r) => [
      r.environment,
      desiredText(r),
      r.deployedVersion ?? '-',
      r.phase ?? '-',
      r.syncStatus,
      ago(r.syncCheckedAt, now),
      r.lastResult ? `${r.lastResult} ${ago(r.lastResultAt, now)}` : '-',
      approvalText(r),
      r.url,
    ]),
  );
}

/** Says which workflows did not answer their state query, or undefined when all did. */
export function unansweredNote(rows: EnvironmentStatus[]): string | undefined {
  const silent = rows.filter((r) => r.source === 'search-attributes').map((r) => r.environment);
  if (silent.length === 0) return undefined;
  return `${silent.join(', ')}: the workflow did not answer its state query (is a worker polling?); shown from its search attributes`;
}

/** One environment in detail for a terminal: its row, its notes and its recent deployments. Pure. */
export function renderStatusDetail(detail: EnvironmentDetail, now: number): string {
  const lines = [renderStatusTable([detail], now)];
  if (detail.desiredError) lines.push('', `config error: ${detail.desiredError}`);
  if (detail.syncMessage) lines.push('', `sync: ${detail.syncStatus} (${detail.syncMessage})`);
  if (detail.lastResultMessage) lines.push('', `last result: ${detail.lastResult}: ${detail.lastResultMessage}`);
  if (detail.deployments.length > 0) {
    lines.push(
      '',
      textTable(
        ['#', 'ACTION', 'VERSION', 'COMMIT', 'RESULT', 'ENDED', 'APPROVED BY', 'MESSAGE'],
        detail.deployments.map((d) => [
          String(d.number),
          d.action,
          d.appVersion ?? '-',
          shortSha(d.commit),
          d.result ?? (d.startedAt ? 'running' : 'pending'),
          ago(d.endedAt, now),
          d.approvedBy ?? '-',
          (d.message ?? '').replace(/\s+/g, ' '),
        ]),
      ),
    );
  }
  return lines.join('\n');
}

/** Flags of `cfn-gitops status`. */
export interface StatusFlags {
  repo?: string;
  json?: boolean;
}

/**
 * `cfn-gitops status [ENV]`: one row per environment, desired against deployed.
 * Exits 1 when the named environment is unknown.
 * @throws UsageError for a name that cannot be an environment.
 * @example await statusCommand('prod', { repo: '.', json: true }, readTemporalSettings(), output)
 */
export async function statusCommand(environment: string | undefined, flags: StatusFlags, settings: TemporalSettings, output: Output): Promise<number> {
  if (environment !== undefined && !ENVIRONMENT_NAME_PATTERN.test(environment)) {
    throw new UsageError(`"${environment}" is not an environment name: letters, digits and hyphens, starting with a letter`);
  }
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
    const rows = await collectStatus(options);
    output.out(flags.json ? JSON.stringify(rows, null, 2) : renderStatusTable(rows, now));
    return ExitCode.Ok;
  } finally {
    await temporal.close();
  }
}
