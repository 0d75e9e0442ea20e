import { Action, DeploymentResult, type DeploymentRecord, type DesiredState, type EnvironmentState } from './types';

/**
 * An environment's timeline: every request it took, from its arrival to its end, with the commit
 * (message, author, pusher), the desired version, the change set the approver saw, the approver
 * and their comment, the pipeline execution and its result, and how long each step took. Pure:
 * it joins what the environment workflow's `state` query answers (the live part and its last
 * records) with facts read from the workflow's histories (starter/timeline.ts reads them).
 */

/** A deployment's commit, as the push gave it. */
export interface TimelineCommit {
  /** Full SHA. */
  sha: string;
  /** The whole commit message. */
  message?: string;
  author?: string;
  authorEmail?: string;
  /** Who made the commit object, when someone other than the author. */
  committer?: string;
  /** ISO-8601 commit time. */
  date?: string;
}

/** What a request asked, as its desired state said it. */
export interface RequestInfo {
  commit: TimelineCommit;
  action: Action;
  /** The config's app version (sync only). */
  appVersion?: string;
  /** Why the plan chose the action: "added", "config changed", "common/ changed", "self-heal: …". */
  reason?: string;
  /** Who pushed the commit. */
  pushedBy?: string;
}

/** A desired state the environment workflow was sent (Update `submit` or signal `desiredState`). */
export interface RequestFact {
  at: string;
  request: RequestInfo;
}

/** A change set preview the approver saw, for one commit. */
export interface PreviewFact {
  at: string;
  commit: string;
  /** One line per resource; empty when the pipeline stack would not change. */
  changes: string[];
}

/** A person's decision on what waited (Update or signal). */
export interface DecisionFact {
  at: string;
  kind: 'approve' | 'reject' | 'cancel';
  by?: string;
  comment?: string;
}

/** How a deployment child ended. */
export interface OutcomeFact {
  result: typeof DeploymentResult.Succeeded | typeof DeploymentResult.Failed | typeof DeploymentResult.Cancelled;
  pipelineExecutionId?: string;
  /** `AppVersion` of the environment stack afterwards. */
  deployedVersion?: string;
  /** The deployment's own message, or its failure's. */
  message?: string;
  at: string;
}

/** A deployment child workflow the environment workflow started. */
export interface DeploymentFact {
  number: number;
  workflowId: string;
  /** When the environment workflow asked for it (after any approval). */
  initiatedAt: string;
  /** When it started. */
  startedAt?: string;
  request: RequestInfo;
  outcome?: OutcomeFact;
}

/** What one run of an environment workflow's history holds for the timeline. */
export interface HistoryFacts {
  runId: string;
  /** When the run started. */
  startedAt: string;
  /** Records the run began with (carried over by continue-as-new), most recent first. */
  carried: DeploymentRecord[];
  requests: RequestFact[];
  previews: PreviewFact[];
  decisions: DecisionFact[];
  deployments: DeploymentFact[];
}

/** How long each step of a request took, in milliseconds; absent when it did not happen or has not ended. */
export interface TimelineDurations {
  /** From its arrival until it was taken (it waited behind the deployment before it). */
  queuedMs?: number;
  /** From being taken until a person decided (or the request expired). */
  approvalMs?: number;
  /** The deployment itself: from its workflow's start to its end. */
  deployMs?: number;
  /** From arrival to end. */
  totalMs?: number;
}

/** One request in an environment's timeline. */
export interface TimelineEntry {
  /** Its number in the environment, counting from 1; 0 for a request superseded before it was taken. */
  number: number;
  action: Action;
  /** Its result once ended; else `Queued`, `WaitingForApproval` or the phase it runs in. */
  status: string;
  result?: DeploymentResult;
  commit: TimelineCommit;
  pushedBy?: string;
  reason?: string;
  /** The app version the request asked for (sync only). */
  desiredVersion?: string;
  /** `AppVersion` of the environment stack after the deployment, when it reported one. */
  deployedVersion?: string;
  /** What the approver was shown the pipeline stack would change; absent when no approval was asked. */
  changeSetPreview?: string[];
  approvedBy?: string;
  approvalComment?: string;
  approvedAt?: string;
  pipelineExecutionId?: string;
  /** How it ended, in words: AWS's reason for a failure, who rejected it, what superseded it. */
  message?: string;
  /** The deployment workflow, when one ran. */
  workflowId?: string;
  /** That workflow in the Temporal UI. */
  url?: string;
  requestedAt: string;
  /** When it was taken (out of the queue; the approval gate opens then). */
  startedAt?: string;
  /** When its deployment workflow started. */
  deployStartedAt?: string;
  endedAt?: string;
  durations: TimelineDurations;
}

/** One page of a timeline, most recent first. */
export interface TimelinePage {
  environment: string;
  deployments: TimelineEntry[];
  /** `before` of the next (older) page; absent on the last page. */
  next?: string;
}

/** What {@link buildTimeline} joins. */
export interface TimelineInput {
  environment: string;
  /** The `state` query's answer; absent when the workflow did not answer or runs no more. */
  state?: EnvironmentState;
  /** Facts of the runs read, newest run first. */
  runs: HistoryFacts[];
  /** A workflow's address in the Temporal UI. */
  link: (workflowId: string) => string;
  /** Only requests that arrived before this time (ISO-8601): the cursor of an older page. */
  before?: string;
  /** Largest page (default 25). */
  limit?: number;
}

/** Default page of a timeline. */
export const TIMELINE_PAGE = 25;

/** The request info of a desired state: what the timeline keeps of it (never the templates). */
export function requestInfo(desired: DesiredState): RequestInfo {
  const { commit } = desired;
  const committer = commit.committer?.name && commit.committer.name !== commit.author?.name ? commit.committer.name : undefined;
  return {
    commit: { sha: commit.sha, message: commit.message, author: commit.author?.name, authorEmail: commit.author?.email, ...(committer ? { committer } : {}), date: commit.date },
    action: desired.action,
    appVersion: desired.config?.appVersion,
    reason: desired.reason,
    pushedBy: desired.pushedBy,
  };
}

const ms = (iso: string | undefined) => (iso ? Date.parse(iso) : Number.NaN);
const span = (from: string | undefined, to: string | undefined) => {
  const d = ms(to) - ms(from);
  return Number.isNaN(d) ? undefined : Math.max(0, d);
};
const keyOf = (r: { number: number; action: string; commit: string; requestedAt?: string }) => (r.number > 0 ? `${r.number}:${r.action}:${r.commit}` : `0:${r.action}:${r.commit}:${r.requestedAt}`);
/** Workflow clocks and event times differ by the length of a workflow task: facts within this of a window count as in it. */
const SLACK_MS = 5_000;

/** The fact of `facts` nearest in time to `at` whose commit and action match, if any. */
function nearestRequest(facts: RequestFact[], commit: string, action: string, at: string): RequestFact | undefined {
  let best: RequestFact | undefined;
  for (const fact of facts) {
    if (fact.request.commit.sha !== commit || fact.request.action !== action) continue;
    if (!best || Math.abs(ms(fact.at) - ms(at)) < Math.abs(ms(best.at) - ms(at))) best = fact;
  }
  return best;
}

/** The last fact within [from − slack, to + slack] that passes `accept`. */
function lastWithin<F extends { at: string }>(facts: F[], from: string | undefined, to: string | undefined, accept: (fact: F) => boolean): F | undefined {
  const lo = Number.isNaN(ms(from)) ? Number.NEGATIVE_INFINITY : ms(from) - SLACK_MS;
  const hi = Number.isNaN(ms(to)) ? Number.POSITIVE_INFINITY : ms(to) + SLACK_MS;
  let found: F | undefined;
  for (const fact of facts) {
    const at = ms(fact.at);
    if (at >= lo && at <= hi && accept(fact)) found = found && ms(found.at) > at ? found : fact;
  }
  return found;
}

/**
 * The timeline, most recent first: every request the state and the runs read know of, each
 * completed from the facts. Records come from the state first (current, pending, its last
 * records), then from what older runs carried; deployments older than both come from the
 * children the runs started. A request that never reached a deployment workflow (rejected,
 * expired, superseded) is known only while a record of it is kept.
 * @example buildTimeline({ environment: 'prod', state, runs: [facts], link, limit: 25 })
 */
export function buildTimeline(input: TimelineInput): TimelinePage {
  const { state, runs, link } = input;
  const limit = input.limit ?? TIMELINE_PAGE;
  const requests = runs.flatMap((r) => r.requests);
  const previews = runs.flatMap((r) => r.previews);
  const decisions = runs.flatMap((r) => r.decisions);
  const children = new Map<string, DeploymentFact>();
  for (const run of runs) {
    for (const d of run.deployments) {
      const key = keyOf({ number: d.number, action: d.request.action, commit: d.request.commit.sha });
      if (!children.has(key)) children.set(key, d);
    }
  }

  // Records, freshest first: the state's, then what each older run carried.
  const records = new Map<string, { record: DeploymentRecord; live?: 'current' | 'pending' }>();
  const add = (record: DeploymentRecord | undefined, live?: 'current' | 'pending') => {
    if (record && !records.has(keyOf(record))) records.set(keyOf(record), { record, live });
  };
  add(state?.current, 'current');
  add(state?.pending, 'pending');
  state?.history.forEach((r) => add(r));
  for (const run of runs) run.carried.forEach((r) => add(r));
  // Deployments no record is kept of any more: from the child the environment workflow started.
  for (const [key, child] of children) {
    if (records.has(key)) continue;
    const asked = nearestRequest(requests, child.request.commit.sha, child.request.action, child.initiatedAt);
    records.set(key, {
      record: {
        number: child.number,
        action: child.request.action,
        commit: child.request.commit.sha,
        appVersion: child.request.appVersion,
        requestedAt: asked && ms(asked.at) <= ms(child.initiatedAt) ? asked.at : child.initiatedAt,
        endedAt: child.outcome?.at,
        result: child.outcome?.result,
        message: child.outcome?.message,
        pipelineExecutionId: child.outcome?.pipelineExecutionId,
        workflowId: child.workflowId,
      },
    });
  }

  const entries = [...records.entries()].map(([key, { record, live }]) => {
    const child = record.number > 0 ? children.get(key) : undefined;
    const asked = child?.request ?? nearestRequest(requests, record.commit, record.action, record.requestedAt)?.request;
    const deployStartedAt = child?.startedAt ?? child?.initiatedAt;
    const endedAt = record.endedAt ?? child?.outcome?.at;
    const openedAt = record.startedAt ?? record.requestedAt;
    const decidedBy = deployStartedAt ?? endedAt;
    const preview = record.number > 0 ? lastWithin(previews, openedAt, decidedBy, (p) => p.commit === record.commit) : undefined;
    const approvedBy = record.approvedBy ?? (preview && child ? lastWithin(decisions, preview.at, child.initiatedAt, (d) => d.kind === 'approve')?.by : undefined);
    const approval = approvedBy ? lastWithin(decisions, preview?.at ?? openedAt, decidedBy, (d) => d.kind === 'approve' && d.by === approvedBy) : undefined;
    const approvalComment = record.approvedBy ? record.approvalComment : approval?.comment;
    const gated = Boolean(approvedBy || preview || record.result === DeploymentResult.Rejected || record.result === DeploymentResult.Expired);
    const workflowId = record.workflowId ?? child?.workflowId;
    const status = record.result ?? (live === 'current' && state ? state.phase : live === 'pending' ? 'Queued' : child && !child.outcome ? 'Running' : 'Unknown');
    const entry: TimelineEntry = {
      number: record.number,
      action: record.action,
      status,
      ...(record.result ? { result: record.result } : {}),
      commit: asked?.commit ?? { sha: record.commit },
      ...(asked?.pushedBy ? { pushedBy: asked.pushedBy } : {}),
      ...(asked?.reason ? { reason: asked.reason } : {}),
      ...((record.appVersion ?? asked?.appVersion) !== undefined ? { desiredVersion: record.appVersion ?? asked?.appVersion } : {}),
      ...(child?.outcome?.deployedVersion ? { deployedVersion: child.outcome.deployedVersion } : {}),
      ...(preview ? { changeSetPreview: preview.changes } : {}),
      ...(approvedBy ? { approvedBy } : {}),
      ...(approvalComment ? { approvalComment } : {}),
      ...(approval ? { approvedAt: approval.at } : {}),
      ...((record.pipelineExecutionId ?? child?.outcome?.pipelineExecutionId) ? { pipelineExecutionId: record.pipelineExecutionId ?? child?.outcome?.pipelineExecutionId } : {}),
      ...((record.message ?? child?.outcome?.message) ? { message: record.message ?? child?.outcome?.message } : {}),
      ...(workflowId ? { workflowId, url: link(workflowId) } : {}),
      requestedAt: record.requestedAt,
      ...(record.startedAt ? { startedAt: record.startedAt } : {}),
      ...(deployStartedAt ? { deployStartedAt } : {}),
      ...(endedAt ? { endedAt } : {}),
      durations: {
        queuedMs: span(record.requestedAt, record.startedAt),
        approvalMs: gated ? span(record.startedAt ?? preview?.at, approval?.at ?? decidedBy) : undefined,
        deployMs: span(deployStartedAt, endedAt),
        totalMs: span(record.requestedAt, endedAt),
      },
    };
    for (const [name, value] of Object.entries(entry.durations)) if (value === undefined) delete entry.durations[name as keyof TimelineDurations];
    return entry;
  });

  entries.sort((a, b) => ms(b.requestedAt) - ms(a.requestedAt) || b.number - a.number);
  const older = input.before === undefined ? entries : entries.filter((e) => ms(e.requestedAt) < ms(input.before));
  const page = older.slice(0, limit);
  return { environment: input.environment, deployments: page, ...(older.length > limit ? { next: page.at(-1)!.requestedAt } : {}) };
}
