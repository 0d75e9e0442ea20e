import type { Client } from '@temporalio/client';
import { optionalTsToDate, type Payload } from '@temporalio/common';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import type { temporal } from '@temporalio/proto';
import { stateQuery, WorkflowType, type EnvironmentWorkflowInput } from '../common/messages';
import { environmentWorkflowId } from '../common/names';
import {
  buildTimeline,
  requestInfo,
  TIMELINE_PAGE,
  type DecisionFact,
  type DeploymentFact,
  type HistoryFacts,
  type OutcomeFact,
  type PreviewFact,
  type RequestFact,
  type TimelinePage,
} from '../common/timeline';
import type { TemporalSettings } from '../common/temporal-settings';
import { DeploymentResult, type ApprovalDecision, type DesiredState, type EnvironmentState } from '../common/types';
import { workflowUrl } from './client';

/*
 * What an environment's timeline reads, and why. The environment workflow's history is the audit
 * log where every step of a request was decided: the desired state it was sent (commit, author,
 * pusher, reason), the change set preview the approver saw, the approver's decision and comment,
 * the deployment child it started and that child's result (pipeline execution, AWS's reason).
 * One history read covers every deployment of a run (a run continues as new after about 2,000
 * events), where reading each deployment child would cost two reads per deployment and still
 * miss the preview, the decision and the requests that never became a child (rejected, expired,
 * superseded). The `state` query adds what is live (the phase, the request waiting or queued).
 * A closed run never changes, so its facts are kept ({@link RunFactsCache}).
 */

/** The history's payloads as values, through the client's data converter (and codecs, if any). */
export type DecodePayloads = (payloads: Payload[] | null | undefined) => Promise<unknown[]>;

type Event = temporal.api.history.v1.IHistoryEvent;

const iso = (event: Event) => optionalTsToDate(event.eventTime)?.toISOString() ?? new Date(0).toISOString();
const first = async (decode: DecodePayloads, payloads: Payload[] | null | undefined) => (await decode(payloads))[0];

/** The approval preview's request key ends with the commit it previews (workflows/environment.ts: `approval-<sha>`). */
const PREVIEW_KEY = /\/approval-([0-9a-f]{7,40})$/;

/** A failure's message with its causes', as the Temporal UI shows the chain. */
function failureText(failure: temporal.api.failure.v1.IFailure | null | undefined): string | undefined {
  const parts: string[] = [];
  for (let f = failure; f && parts.length < 3; f = f.cause) if (f.message && !parts.includes(f.message)) parts.push(f.message);
  return parts.length ? parts.join(': ') : undefined;
}

/**
 * The timeline's facts in one run of an environment workflow's history: the records it carried
 * over, the desired states it was sent, the previews, the decisions and the deployment children
 * with their results. Payloads are decoded only for those events.
 * @example const facts = await historyFacts(await handle.fetchHistory(), runId, decode)
 */
export async function historyFacts(history: temporal.api.history.v1.IHistory, runId: string, decode: DecodePayloads): Promise<HistoryFacts> {
  const events = history.events ?? [];
  const facts: HistoryFacts = { runId, startedAt: events[0] ? iso(events[0]) : new Date(0).toISOString(), carried: [], requests: [], previews: [], decisions: [], deployments: [] };
  const previewByEvent = new Map<string, string>();
  const childByEvent = new Map<string, DeploymentFact>();
  const eventKey = (id: unknown) => String(id ?? '');
  const decision = (name: string, at: string, value: unknown): DecisionFact | undefined => {
    if (name !== 'approve' && name !== 'reject' && name !== 'cancel') return undefined;
    const v = (value ?? {}) as Partial<ApprovalDecision> & { reason?: string };
    const by = typeof v.by === 'string' ? v.by : undefined;
    const comment = typeof v.comment === 'string' ? v.comment : typeof v.reason === 'string' ? v.reason : undefined;
    return { at, kind: name, ...(by ? { by } : {}), ...(comment ? { comment } : {}) };
  };
  const asRequest = (value: unknown): RequestFact['request'] | undefined => {
    const desired = value as DesiredState | undefined;
    return desired?.commit?.sha && desired.action ? requestInfo(desired) : undefined;
  };

  for (const event of events) {
    const at = iso(event);
    if (event.workflowExecutionStartedEventAttributes) {
      const input = (await first(decode, event.workflowExecutionStartedEventAttributes.input?.payloads)) as EnvironmentWorkflowInput | undefined;
      facts.carried = input?.carried?.history ?? [];
      const pending = asRequest(input?.carriedPending);
      if (pending) facts.requests.push({ at, request: pending });
    } else if (event.workflowExecutionUpdateAcceptedEventAttributes) {
      const request = event.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest?.input;
      const name = request?.name ?? '';
      const value = await first(decode, request?.args?.payloads);
      if (name === 'submit') {
        const info = asRequest(value);
        if (info) facts.requests.push({ at, request: info });
      } else {
        const d = decision(name, at, value);
        if (d) facts.decisions.push(d);
      }
    } else if (event.workflowExecutionSignaledEventAttributes) {
      const { signalName, input } = event.workflowExecutionSignaledEventAttributes;
      if (signalName === 'desiredState') {
        const info = asRequest(await first(decode, input?.payloads));
        if (info) facts.requests.push({ at, request: info });
      } else if (signalName === 'approve' || signalName === 'reject' || signalName === 'cancel') {
        const d = decision(signalName, at, await first(decode, input?.payloads));
        if (d) facts.decisions.push(d);
      }
    } else if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'previewStackChanges') {
      const change = (await first(decode, event.activityTaskScheduledEventAttributes.input?.payloads)) as { requestKey?: string } | undefined;
      const commit = PREVIEW_KEY.exec(change?.requestKey ?? '')?.[1];
      if (commit) previewByEvent.set(eventKey(event.eventId), commit);
    } else if (event.activityTaskCompletedEventAttributes && previewByEvent.has(eventKey(event.activityTaskCompletedEventAttributes.scheduledEventId))) {
      const changes = await first(decode, event.activityTaskCompletedEventAttributes.result?.payloads);
      const commit = previewByEvent.get(eventKey(event.activityTaskCompletedEventAttributes.scheduledEventId))!;
      facts.previews.push({ at, commit, changes: Array.isArray(changes) ? changes.map(String) : [] } satisfies PreviewFact);
    } else if (event.activityTaskFailedEventAttributes && previewByEvent.has(eventKey(event.activityTaskFailedEventAttributes.scheduledEventId))) {
      // The workflow shows the approver why there is no preview; so does the timeline.
      const commit = previewByEvent.get(eventKey(event.activityTaskFailedEventAttributes.scheduledEventId))!;
      facts.previews.push({ at, commit, changes: [`change set preview unavailable: ${failureText(event.activityTaskFailedEventAttributes.failure) ?? 'no reason given'}`] });
    } else if (event.startChildWorkflowExecutionInitiatedEventAttributes) {
      const started = event.startChildWorkflowExecutionInitiatedEventAttributes;
      if (started.workflowType?.name !== WorkflowType.Deployment) continue;
      const input = (await first(decode, started.input?.payloads)) as { desired?: DesiredState; number?: number } | undefined;
      const request = asRequest(input?.desired);
      if (!request || typeof input?.number !== 'number') continue;
      const child: DeploymentFact = { number: input.number, workflowId: started.workflowId ?? '', initiatedAt: at, request };
      childByEvent.set(eventKey(event.eventId), child);
      facts.deployments.push(child);
    } else if (event.childWorkflowExecutionStartedEventAttributes) {
      const child = childByEvent.get(eventKey(event.childWorkflowExecutionStartedEventAttributes.initiatedEventId));
      if (child) child.startedAt = at;
    } else {
      const ended = childEnding(event);
      const child = ended && childByEvent.get(eventKey(ended.initiatedEventId));
      if (!ended || !child) continue;
      const outcome: OutcomeFact = { result: ended.result, at };
      if (ended.result === DeploymentResult.Succeeded) {
        const value = (await first(decode, ended.payloads)) as { pipelineExecutionId?: string; deployedVersion?: string; message?: string } | undefined;
        if (value?.pipelineExecutionId) outcome.pipelineExecutionId = value.pipelineExecutionId;
        if (value?.deployedVersion) outcome.deployedVersion = value.deployedVersion;
        if (value?.message) outcome.message = value.message;
      } else if (ended.message) {
        outcome.message = ended.message;
      }
      child.outcome = outcome;
    }
  }
  return facts;
}

/** How a deployment child ended, from its closing event in the parent's history. */
function childEnding(event: Event): { initiatedEventId: unknown; result: OutcomeFact['result']; payloads?: Payload[] | null; message?: string } | undefined {
  const completed = event.childWorkflowExecutionCompletedEventAttributes;
  if (completed) return { initiatedEventId: completed.initiatedEventId, result: DeploymentResult.Succeeded, payloads: completed.result?.payloads };
  const failed = event.childWorkflowExecutionFailedEventAttributes;
  if (failed) return { initiatedEventId: failed.initiatedEventId, result: DeploymentResult.Failed, message: failureText(failed.failure) };
  const canceled = event.childWorkflowExecutionCanceledEventAttributes;
  if (canceled) return { initiatedEventId: canceled.initiatedEventId, result: DeploymentResult.Cancelled, message: 'cancelled' };
  const timedOut = event.childWorkflowExecutionTimedOutEventAttributes;
  if (timedOut) return { initiatedEventId: timedOut.initiatedEventId, result: DeploymentResult.Failed, message: 'the deployment workflow timed out' };
  const terminated = event.childWorkflowExecutionTerminatedEventAttributes;
  if (terminated) return { initiatedEventId: terminated.initiatedEventId, result: DeploymentResult.Failed, message: 'the deployment workflow was terminated' };
  return undefined;
}

/** Facts of closed runs, which never change, by run id; bounded, oldest entry out first. */
export interface RunFactsCache {
  get(runId: string): HistoryFacts | undefined;
  set(runId: string, facts: HistoryFacts): void;
}

/**
 * A cache of closed runs' facts holding at most `size` runs (default 200).
 * @example const runs = createRunFactsCache(); await readTimeline({ client, settings, environment: 'prod', runs })
 */
export function createRunFactsCache(size = 200): RunFactsCache {
  const kept = new Map<string, HistoryFacts>();
  return {
    get: (runId) => kept.get(runId),
    set(runId, facts) {
      kept.delete(runId);
      kept.set(runId, facts);
      while (kept.size > size) kept.delete(kept.keys().next().value!);
    },
  };
}

/** Options of {@link readTimeline}. */
export interface TimelineOptions {
  client: Client;
  settings: TemporalSettings;
  environment: string;
  /** Only requests that arrived before this ISO-8601 time: the `next` of a newer page. */
  before?: string;
  /** Largest page (default 25). */
  limit?: number;
  /** Closed runs' facts from earlier reads. */
  runs?: RunFactsCache;
  /** Most runs read for one page (default 8): a page older than that many runs ends early. */
  maxRuns?: number;
  /** How long the `state` query may wait for a worker (default 5 s); without an answer the timeline comes from the histories alone. */
  queryTimeoutMs?: number;
}

/** One page of an environment's timeline and what the workflow's state query answered. */
export interface TimelineRead extends TimelinePage {
  /** The `state` query's answer; undefined when no workflow answered. */
  state?: EnvironmentState;
  /** What could not be read, said plainly. */
  warnings: string[];
}

/**
 * One page of an environment's timeline, most recent first: the environment workflow's state
 * and its runs' histories, newest run first, as many as the page reaches back to.
 * @throws the client's error when Temporal cannot be reached.
 * @example const page = await readTimeline({ client, settings, environment: 'prod', limit: 25 })
 */
export async function readTimeline(options: TimelineOptions): Promise<TimelineRead> {
  const { client, settings, environment } = options;
  const workflowId = environmentWorkflowId(environment);
  const limit = options.limit ?? TIMELINE_PAGE;
  const decode: DecodePayloads = (payloads) => decodeArrayFromPayloads(client.options.loadedDataConverter, payloads);
  const link = (id: string) => workflowUrl(settings, id);
  const warnings: string[] = [];

  const queried = client.connection
    .withDeadline(Date.now() + (options.queryTimeoutMs ?? 5_000), () => client.workflow.getHandle(workflowId).query(stateQuery))
    .catch((error: unknown) => {
      if ((error as { name?: string }).name !== 'WorkflowNotFoundError') warnings.push(`${workflowId} did not answer its state query (${(error as Error).message}); the timeline comes from its history alone`);
      return undefined;
    });
  // The newest run's history, the earlier runs in visibility and the state, all at once. The id alone
  // finds the runs (environment workflows own it), which visibility answers faster than with a type.
  const newest = client.workflow
    .getHandle(workflowId)
    .fetchHistory()
    .then((history) => historyFacts(history, 'newest', decode))
    .catch((error: unknown) => {
      if ((error as { name?: string }).name !== 'WorkflowNotFoundError') throw error;
      return undefined;
    });
  const listing = (async () => {
    const listed: { runId: string; open: boolean; startedAt: number }[] = [];
    for await (const info of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
      if (info.type === WorkflowType.Environment) listed.push({ runId: info.runId, open: info.status.name === 'RUNNING', startedAt: info.startTime.getTime() });
    }
    return listed.sort((a, b) => b.startedAt - a.startedAt);
  })();
  const [state, first, listed] = await Promise.all([queried, newest, listing]);

  const runs: HistoryFacts[] = first ? [first] : [];
  let page = buildTimeline({ environment, state, runs, link, before: options.before, limit });
  // Earlier runs (continued as new, or before the environment was deleted and made again), newest first.
  const earlier = listed.filter((run) => !run.open && (!first || run.startedAt < Date.parse(first.startedAt)));
  for (const run of earlier.slice(0, (options.maxRuns ?? 8) - runs.length)) {
    // Enough read: the page is full and its oldest request came after the oldest run read began.
    const oldest = page.deployments.at(-1);
    if (runs.length > 0 && page.next !== undefined && oldest && Date.parse(oldest.requestedAt) >= Date.parse(runs.at(-1)!.startedAt)) break;
    let facts = options.runs?.get(run.runId);
    if (!facts) {
      facts = await historyFacts(await client.workflow.getHandle(workflowId, run.runId).fetchHistory(), run.runId, decode);
      options.runs?.set(run.runId, facts);
    }
    runs.push(facts);
    page = buildTimeline({ environment, state, runs, link, before: options.before, limit });
  }
  return { ...page, state, warnings };
}
