import { z } from 'zod';
import { environmentWorkflowId, shortSha } from './names';
import { expiryWarning, type Expiry } from './expiry';
import { syncStatusOf, underWay } from './sync';
import { DeployPhase, SyncStatus, type DeploymentRecord, type EnvironmentState } from './types';

/**
 * The status model: one environment's row, from its workflow's state (or, when the workflow did
 * not answer, its search attributes) and git main when known. `cfn-gitops status`, the status
 * API, the dashboard and the metrics all show these rows; the renderers (terminal and Markdown in
 * common/render.ts, HTML in server/render.ts) only lay them out. Pure.
 */

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

/** An environment workflow as visibility lists it, with its state when its query answered. */
export interface WorkflowFacts {
  workflowId: string;
  state?: EnvironmentState;
  /** Its search attributes: `DeployPhase`, `AppVersion`, `SyncStatus`. */
  attributes: { phase?: string; appVersion?: string; syncStatus?: string };
}

/** What waits for a person in one environment. */
export interface ApprovalSummary {
  currentVersion?: string;
  /** Undefined for a delete. */
  newVersion?: string;
  action: string;
  commit: string;
  /** The commit message's first line. */
  message?: string;
  author: string;
  /** Who made the commit object, when someone other than its author. */
  committer?: string;
  requestedAt: string;
  expiresAt: string;
  /**
   * What the pipeline stack would change, one line per resource, from the change set previewed
   * when the approval opened: empty when nothing changes; absent for a delete, or when the
   * workflow made no preview.
   */
  pipelineChanges?: string[];
  /** Approvals given so far, in order; the deployment starts with the one it needs. */
  approvals: { by: string; comment?: string }[];
  /** Approvals from distinct people the change needs, when more than one. */
  requiredApprovals?: number;
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
  /** The folder is gone from main (with --repo), or the workflow's last request is a delete. */
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
  /** When the environment expires (`expires` or `ttl` in its config), and by which rule. */
  expiry?: Expiry;
  /** Set within three days of the expiry: `expires in 2d 4h (ttl 7d from …)`. */
  expiryWarning?: string;
  /** The environment expired: when, by which rule; its stacks were deleted. */
  expired?: { at: string; rule: string };
  /**
   * The running rollout (`waves:`) the environment is in: its wave, the wave running, how many,
   * the push; or the ended rollout that halted it (`halted`: which environment's deployment
   * failed), until the environment takes another request.
   */
  rollout?: { wave: number; running: number; waves: number; commit: string; workflowId: string; halted?: string };
}

/** One deployment in an environment's detail, with its workflow in the Temporal UI. */
export type DeploymentEntry = DeploymentRecord & { url?: string };

/** One environment in detail: its status and its recent deployments, most recent first. */
export interface EnvironmentDetail extends EnvironmentStatus {
  deployments: DeploymentEntry[];
}

/**
 * One row from a workflow's state (or search attributes) and git main.
 * @example statusRow({ environment: 'prod', url, workflow: { workflowId: 'cfn-gitops/prod', state, attributes: {} }, git })
 */
export function statusRow(input: { environment: string; url: string; workflow?: WorkflowFacts; git?: GitMain; now?: number }): EnvironmentStatus {
  const { environment, workflow, git } = input;
  const state = workflow?.state;
  const phase = (state?.phase ?? workflow?.attributes.phase) as DeployPhase | undefined;
  const row: EnvironmentStatus = {
    environment,
    desiredSource: 'none',
    deployedVersion: state ? state.deployedVersion : workflow?.attributes.appVersion,
    deployedCommit: state?.applied?.commit,
    phase,
    deploymentCount: state?.deploymentCount,
    syncStatus: SyncStatus.Unknown,
    workflowId: workflow?.workflowId ?? environmentWorkflowId(environment),
    url: input.url,
    source: state ? 'query' : workflow ? 'search-attributes' : 'none',
  };
  if (git) {
    const inGit = git.environments.get(environment);
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
  if (state?.expiry) {
    row.expiry = { at: state.expiry.at, rule: state.expiry.rule };
    const warning = expiryWarning(row.expiry, input.now ?? Date.now());
    if (warning) row.expiryWarning = warning;
  }
  if (state?.expired) row.expired = { at: state.expired.endedAt, rule: state.expired.rule };
  row.syncStatus = syncStatusOf({
    expired: state ? state.expired !== undefined : workflow?.attributes.syncStatus === SyncStatus.Expired,
    phase,
    running: state ? underWay(state) : false,
    desiredSource: row.desiredSource,
    desiredVersion: row.desiredVersion,
    removed: row.removedFromGit,
    deployedVersion: row.deployedVersion,
    recorded: recordedStatus(state?.sync?.status ?? workflow?.attributes.syncStatus),
  });
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
    const committer = a.commit.committer?.name;
    const approvedBy = state.current?.approvedBy;
    row.pendingApproval = {
      currentVersion: a.currentVersion,
      newVersion: a.newVersion,
      action: a.action,
      commit: a.commit.sha,
      message: a.commit.message.split('\n')[0],
      author: a.commit.author.name,
      ...(committer && committer !== a.commit.author.name ? { committer } : {}),
      requestedAt: a.requestedAt,
      expiresAt: a.expiresAt,
      ...(a.pipelineChanges ? { pipelineChanges: a.pipelineChanges } : {}),
      approvals: a.approvals
        ? a.approvals.map(({ by, comment }) => ({ by, ...(comment ? { comment } : {}) }))
        : approvedBy
          ? [{ by: approvedBy, ...(state.current?.approvalComment ? { comment: state.current.approvalComment } : {}) }]
          : [],
      ...(a.requiredApprovals ? { requiredApprovals: a.requiredApprovals } : {}),
    };
  }
  return row;
}

/** A search attribute's value as a sync status; anything else counts as no record. */
function recordedStatus(value: string | undefined): SyncStatus | undefined {
  return (Object.values(SyncStatus) as string[]).includes(value ?? '') ? (value as SyncStatus) : undefined;
}

/**
 * The environment's deployments, running and pending first, then its history; each once, each
 * linked to its workflow by `link`.
 */
export function deploymentsOf(state: EnvironmentState | undefined, link: (workflowId: string) => string): DeploymentEntry[] {
  if (!state) return [];
  return [state.current, state.pending, ...state.history]
    .filter((r): r is DeploymentRecord => r !== undefined)
    .filter((r, index, all) => all.findIndex((o) => o.number === r.number && o.commit === r.commit) === index)
    .map((r) => (r.workflowId ? { ...r, url: link(r.workflowId) } : r));
}

/** A row without its deployments: what lists show. */
export function summaryOf({ deployments: _deployments, ...row }: EnvironmentDetail): EnvironmentStatus {
  return row;
}

/** Says which workflows did not answer their state query, or undefined when all did. */
export function unansweredNote(rows: EnvironmentStatus[]): string | undefined {
  const silent = rows.filter((r) => r.source === 'search-attributes').map((r) => r.environment);
  if (silent.length === 0) return undefined;
  return `${silent.join(', ')}: the workflow did not answer its state query (is a worker polling?); shown from its search attributes`;
}

// ---------------------------------------------------------------------------------------------
// Filters: `GET /api/environments?syncStatus=&phase=&q=` and `cfn-gitops status --sync-status --phase --search`

/** Which rows a list shows; every field given must match. */
export interface StatusFilter {
  /** Any of these sync statuses. */
  syncStatus?: SyncStatus[];
  /** Any of these phases. */
  phase?: DeployPhase[];
  /** Part of the environment's name, without regard to case. */
  q?: string;
}

/** Longest search text. */
const SEARCH_LIMIT = 64;

/** A list of one const object's values, given as `a,b` or repeated, matched without regard to case. */
function oneOf<T extends string>(what: string, values: readonly T[]) {
  const byLower = new Map(values.map((v) => [v.toLowerCase(), v]));
  return z
    .union([z.string(), z.array(z.string())])
    .transform((given, context) => {
      const items = (Array.isArray(given) ? given : [given]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
      const found: T[] = [];
      for (const item of items) {
        const value = byLower.get(item.toLowerCase());
        if (value === undefined) {
          context.addIssue({ code: 'custom', message: `"${item.slice(0, 40)}" is not a ${what}: one of ${values.join(', ')}` });
          return z.NEVER;
        }
        if (!found.includes(value)) found.push(value);
      }
      return found.length > 0 ? found : undefined;
    })
    .optional();
}

/** The filter's schema over query parameters (strings, or arrays of them when repeated). */
export const statusFilterSchema = z.object({
  syncStatus: oneOf('sync status', Object.values(SyncStatus)),
  phase: oneOf('phase', Object.values(DeployPhase)),
  q: z.string('q is one text, given once').trim().max(SEARCH_LIMIT, `at most ${SEARCH_LIMIT} characters`).optional(),
});

/**
 * The filter a query asks for; other parameters are not the filter's business.
 * @throws Error naming the parameter, the value and the values it takes.
 * @example parseStatusFilter({ syncStatus: 'OutOfSync,Drifted', q: 'prod' }) // { syncStatus: ['OutOfSync', 'Drifted'], q: 'prod' }
 */
export function parseStatusFilter(query: Record<string, unknown>): StatusFilter {
  const parsed = statusFilterSchema.safeParse({ syncStatus: query.syncStatus, phase: query.phase, q: query.q });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${issue.path.join('.')}: ${issue.message}`);
  }
  const filter: StatusFilter = {};
  if (parsed.data.syncStatus) filter.syncStatus = parsed.data.syncStatus;
  if (parsed.data.phase) filter.phase = parsed.data.phase;
  if (parsed.data.q) filter.q = parsed.data.q;
  return filter;
}

/** Does a row pass the filter? */
export function matchesFilter(row: EnvironmentStatus, filter: StatusFilter): boolean {
  if (filter.syncStatus && !filter.syncStatus.includes(row.syncStatus)) return false;
  if (filter.phase && (row.phase === undefined || !filter.phase.includes(row.phase))) return false;
  if (filter.q && !row.environment.toLowerCase().includes(filter.q.toLowerCase())) return false;
  return true;
}

/**
 * The rows that pass the filter, in their order.
 * @example filterRows(rows, { syncStatus: ['OutOfSync'] })
 */
export function filterRows<R extends EnvironmentStatus>(rows: R[], filter: StatusFilter): R[] {
  return rows.filter((row) => matchesFilter(row, filter));
}

// ---------------------------------------------------------------------------------------------
// Order: the dashboard's list view sorts by name, sync status, phase or last deployment

/** What a list can be sorted by. */
export const SortKey = {
  Name: 'name',
  SyncStatus: 'syncStatus',
  Phase: 'phase',
  /** When the last deployment ended (its result's time). */
  LastDeployment: 'lastDeployment',
} as const;
export type SortKey = (typeof SortKey)[keyof typeof SortKey];

/** A list's order: a key and a direction. */
export interface ListOrder {
  sort: SortKey;
  order: 'asc' | 'desc';
}

/** Name, ascending: the order of `cfn-gitops status` and of the API. */
export const DEFAULT_ORDER: ListOrder = { sort: 'name', order: 'asc' };

/** The order's schema over query parameters. */
function listOrderSchema() {
  return z.object({
    sort: z.enum(Object.values(SortKey) as [SortKey, ...SortKey[]], { message: `one of ${Object.values(SortKey).join(', ')}` }).optional(),
    order: z.enum(['asc', 'desc'], { message: 'asc or desc' }).optional(),
  });
}

/**
 * The order a query asks for (`sort`, `order`); name ascending when absent.
 * @throws Error naming the parameter and the values it takes.
 * @example parseListOrder({ sort: 'lastDeployment', order: 'desc' }) // { sort: 'lastDeployment', order: 'desc' }
 */
export function parseListOrder(query: Record<string, unknown>): ListOrder {
  const parsed = listOrderSchema().safeParse({ sort: query.sort, order: query.order });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${issue.path.join('.')}: ${issue.message}`);
  }
  return { sort: parsed.data.sort ?? DEFAULT_ORDER.sort, order: parsed.data.order ?? DEFAULT_ORDER.order };
}

// Pure: bundles that do not sort (the GitHub Action) leave these out.
/** Sync statuses in the order the dashboard counts them, and sorts by them. */
export const SYNC_ORDER: readonly SyncStatus[] = /* @__PURE__ */ Object.values(SyncStatus);
/** Phases in the order of a deployment's life, and sorted so; rows without a workflow come last. */
export const PHASE_ORDER: readonly DeployPhase[] = /* @__PURE__ */ Object.values(DeployPhase);

/**
 * The rows in the order asked, ties broken by name (ascending). Sync statuses and phases sort in
 * {@link SYNC_ORDER} and {@link PHASE_ORDER}, not alphabetically; rows without a phase or without
 * a finished deployment come last whichever the direction. Returns a new array.
 * @example sortRows(rows, { sort: 'lastDeployment', order: 'desc' }) // most recently deployed first
 */
export function sortRows<R extends EnvironmentStatus>(rows: readonly R[], order: ListOrder): R[] {
  const sign = order.order === 'desc' ? -1 : 1;
  /** The row's place under the key; undefined sorts last. */
  const rank = (row: R): number | undefined => {
    switch (order.sort) {
      case SortKey.SyncStatus:
        return SYNC_ORDER.indexOf(row.syncStatus);
      case SortKey.Phase:
        return row.phase === undefined ? undefined : PHASE_ORDER.indexOf(row.phase);
      case SortKey.LastDeployment: {
        const at = row.lastResultAt ? Date.parse(row.lastResultAt) : Number.NaN;
        return Number.isNaN(at) ? undefined : at;
      }
      default:
        return 0;
    }
  };
  // Names compare as `cfn-gitops status` lists them (`localeCompare`), at a fraction of its cost per call.
  const collator = new Intl.Collator();
  const byName = (a: R, b: R) => collator.compare(a.environment, b.environment);
  const keyed = rows.map((row) => ({ row, rank: rank(row) }));
  keyed.sort((a, b) => {
    if (a.rank !== b.rank) {
      if (a.rank === undefined) return 1;
      if (b.rank === undefined) return -1;
      return sign * (a.rank - b.rank);
    }
    return order.sort === SortKey.Name ? sign * byName(a.row, b.row) : byName(a.row, b.row);
  });
  return keyed.map((k) => k.row);
}

/** Rows per sync status and per phase (`none`: no workflow); every sync status is counted, zero included. */
export interface StatusCounts {
  syncStatus: Record<SyncStatus, number>;
  phase: Partial<Record<DeployPhase | 'none', number>>;
}

/** Counts rows by sync status and by phase. */
export function countRows(rows: EnvironmentStatus[]): StatusCounts {
  const syncStatus = Object.fromEntries(Object.values(SyncStatus).map((s) => [s, 0])) as Record<SyncStatus, number>;
  const phase: StatusCounts['phase'] = {};
  for (const row of rows) {
    syncStatus[row.syncStatus] += 1;
    const key = row.phase ?? 'none';
    phase[key] = (phase[key] ?? 0) + 1;
  }
  return { syncStatus, phase };
}

// ---------------------------------------------------------------------------------------------
// What a row's cells say, in every medium

/** How people read each sync status (the dashboard's badge). */
export const SYNC_LABELS: Record<SyncStatus, string> = {
  Synced: 'In sync',
  OutOfSync: 'Out of sync',
  Drifted: 'Drifted',
  Missing: 'Missing',
  Orphaned: 'Orphaned',
  Progressing: 'Progressing',
  Unknown: 'Unknown',
  Expired: 'Expired',
};

/** The desired column: the version, `(removed)`, `invalid config` or `-`. */
export function desiredText(row: Pick<EnvironmentStatus, 'desiredError' | 'removedFromGit' | 'desiredVersion'>): string {
  if (row.desiredError) return 'invalid config';
  if (row.removedFromGit) return '(removed)';
  return row.desiredVersion ?? '-';
}

/** The change an approval waits for: `1.4.1 → 1.5.0`, `none → 1.0.0`, `1.4.1 → delete`. */
export function approvalChange(approval: Pick<ApprovalSummary, 'currentVersion' | 'newVersion'>): string {
  return `${approval.currentVersion ?? 'none'} → ${approval.newVersion ?? 'delete'}`;
}

/** The approval column: `1.4.1 → 1.5.0 (abc1234 by Dana)`, or `-`. */
export function approvalText(row: Pick<EnvironmentStatus, 'pendingApproval'>): string {
  const a = row.pendingApproval;
  if (!a) return '-';
  return `${approvalChange(a)} (${shortSha(a.commit)} by ${a.author})`;
}

/**
 * "12s ago", "5m ago", "3h ago", "2d ago", or "in 3h" for a time ahead; "" when absent or not a time.
 * @example relativeTime('2024-05-01T12:14:30Z', Date.parse('2024-05-01T12:15:00Z')) // '30s ago'
 */
export function relativeTime(iso: string | undefined, now: number): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  const seconds = Math.round((now - ms) / 1000);
  const abs = Math.abs(seconds);
  const text = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.floor(abs / 60)}m` : abs < 86400 ? `${Math.floor(abs / 3600)}h` : `${Math.floor(abs / 86400)}d`;
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}
