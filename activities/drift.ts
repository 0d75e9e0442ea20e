import { ApplicationFailure, getClient, heartbeat, log } from '@temporalio/activity';
import {
  DescribeStackDriftDetectionStatusCommand,
  DescribeStackResourceDriftsCommand,
  DescribeStacksCommand,
  DetectStackDriftCommand,
  ListStacksCommand,
  StackStatus,
  type CloudFormationClient,
  type DescribeStackDriftDetectionStatusCommandOutput,
  type StackResourceDrift,
} from '@aws-sdk/client-cloudformation';
import { ListPipelineExecutionsCommand, type CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { BOOTSTRAP_STACK_NAME } from '../common/bootstrap';
import { stateQuery, syncStatusSignal, WorkflowType } from '../common/messages';
import {
  DEFAULT_STACK_PREFIX,
  environmentFromStackName,
  environmentFromWorkflowId,
  environmentStackName,
  environmentWorkflowId,
  pipelineName,
  pipelineStackName,
} from '../common/names';
import { policyFor, type PolicySettings } from '../common/policy';
import { assessSync, unknownFinding, type AssessInput, type Finding, type StackFacts } from '../common/sync';
import { Action, type EnvironmentState, type SyncReport } from '../common/types';
import { awsCall } from './aws-errors';
import { tagsOf } from './cloudformation';
import { pollUntil, type PollTiming } from './poll';

/**
 * The drift sweep's activities: list what to check (environment workflows and the stacks under
 * their prefixes), then check one environment per activity — git's version against the
 * environment stack's `AppVersion`, CloudFormation drift detection on both stacks, and whether
 * the stacks exist — and tell the environment workflow what was found.
 */

/** The environment workflows, as the sweep needs them: a narrow interface over the Temporal client. */
export interface EnvironmentWorkflows {
  /** Ids of the running environment workflows (a visibility list query). */
  running(): Promise<string[]>;
  /** Is this workflow running? */
  isRunning(workflowId: string): Promise<boolean>;
  /** The workflow's state (its `state` query); undefined when there is no such workflow. */
  state(workflowId: string): Promise<EnvironmentState | undefined>;
  /** Sends the sweep's finding (`syncStatus` signal); false when the workflow no longer runs. */
  reportSync(workflowId: string, report: SyncReport): Promise<boolean>;
}

/** {@link EnvironmentWorkflows} over a Temporal client. */
export function createEnvironmentWorkflows(client: Client): EnvironmentWorkflows {
  const notFound = (error: unknown) => error instanceof WorkflowNotFoundError || (error as { name?: string })?.name === 'WorkflowNotFoundError';
  return {
    async running() {
      const ids: string[] = [];
      const query = `WorkflowType = "${WorkflowType.Environment}" AND ExecutionStatus = "Running"`;
      for await (const execution of client.workflow.list({ query })) ids.push(execution.workflowId);
      return ids;
    },
    async isRunning(workflowId) {
      try {
        return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
      } catch (error) {
        if (notFound(error)) return false;
        throw error;
      }
    },
    async state(workflowId) {
      try {
        return await client.workflow.getHandle(workflowId).query(stateQuery);
      } catch (error) {
        if (notFound(error)) return undefined;
        throw error;
      }
    },
    async reportSync(workflowId, report) {
      try {
        await client.workflow.getHandle(workflowId).signal(syncStatusSignal, report);
        return true;
      } catch (error) {
        if (notFound(error)) return false;
        throw error;
      }
    },
  };
}

/** Where an environment's stacks live. The environment workflow's state carries it as `location`. */
export interface StackLocation {
  stackPrefix: string;
  region?: string;
}

/** One environment (under one prefix and region) for the sweep to check. */
export interface SweepTarget {
  environment: string;
  /** The running environment workflow; absent for stacks nobody's workflow owns. */
  workflowId?: string;
  stackPrefix: string;
  region: string;
  /** The worker's policy re-deploys this environment when it is OutOfSync or Drifted. */
  selfHeal: boolean;
}

/** What `listSweepTargets` found. */
export interface SweepTargets {
  targets: SweepTarget[];
  /** Environments checked at once (the worker's CFN_GITOPS_DRIFT_CONCURRENCY). */
  concurrency: number;
}

/** One environment's finding; no report when there is nothing to say (no workflow and no stacks). */
export interface DriftCheck {
  environment: string;
  workflowId?: string;
  report?: SyncReport;
  /** The report reached the environment workflow's `syncStatus` signal. */
  reported: boolean;
  /**
   * The applied commit was deployed more than once (self-heal or by hand). Another re-deploy of
   * it would not revert resource drift: CloudFormation leaves resources a deploy does not change as they are.
   */
  redeployedAlready?: boolean;
  /** The environment has a request in hand (it deploys, waits for approval or is queued): self-heal has nothing to add. */
  requestInHand?: boolean;
}

/** What the drift activities need from the worker. */
export interface DriftDependencies {
  cloudFormation(region: string): CloudFormationClient;
  codePipeline(region: string): CodePipelineClient;
  /** The worker's own Temporal client when absent (the SDK's experimental activity client). */
  workflows?: EnvironmentWorkflows;
  policy: PolicySettings;
  timing: PollTiming;
  /** Region when the repo names none. */
  defaultRegion: string;
  /** Environments a sweep checks at once. */
  concurrency: number;
  /** This installation's id: stacks another installation tagged are not reported as orphans. */
  installation?: string;
}

/** Every stack status but DELETE_COMPLETE, for ListStacks. */
const LIVE_STATUSES = Object.values(StackStatus).filter((status) => status !== StackStatus.DELETE_COMPLETE);
/** State queries the listing runs at once. */
const QUERY_CONCURRENCY = 16;
/** Longest property value quoted in a drift line. */
const QUOTE_LIMIT = 80;

/**
 * One line per drifted resource, as people read it:
 * `InstanceRole (AWS::IAM::Role) in cfn-gitops-dev: Description changed from "a" to "b"` or `…: deleted`.
 */
export function describeResourceDrift(stackName: string, drift: StackResourceDrift): string {
  const what = `${drift.LogicalResourceId} (${drift.ResourceType}) in ${stackName}`;
  if (drift.StackResourceDriftStatus === 'DELETED') return `${what}: deleted`;
  const changes = (drift.PropertyDifferences ?? []).map((d) => {
    const property = (d.PropertyPath ?? '').replace(/^\//, '').replace(/\//g, '.') || 'properties';
    const verb = d.DifferenceType === 'ADD' ? 'added' : d.DifferenceType === 'REMOVE' ? 'removed' : 'changed';
    const quotable = (value?: string) => value !== undefined && value.length <= QUOTE_LIMIT;
    const values = d.DifferenceType === 'NOT_EQUAL' && quotable(d.ExpectedValue) && quotable(d.ActualValue) ? ` from ${JSON.stringify(d.ExpectedValue)} to ${JSON.stringify(d.ActualValue)}` : '';
    return `${property} ${verb}${values}`;
  });
  return `${what}: ${changes.length > 0 ? changes.join(', ') : 'modified'}`;
}

/** Runs `work` over `items`, at most `limit` at a time, heartbeating as items finish. */
async function mapLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
      heartbeat({ done: index });
    }
  });
  await Promise.all(lanes);
  return results;
}

/** The drift sweep's activities over AWS clients and the environment workflows. */
export function createDriftActivities(deps: DriftDependencies) {
  function workflows(): EnvironmentWorkflows {
    return deps.workflows ?? createEnvironmentWorkflows(getClient());
  }

  function locationOf(state: EnvironmentState | undefined): { stackPrefix: string; region: string } {
    const location = (state as (EnvironmentState & { location?: StackLocation }) | undefined)?.location;
    return { stackPrefix: location?.stackPrefix ?? DEFAULT_STACK_PREFIX, region: location?.region ?? deps.defaultRegion };
  }

  function target(environment: string, location: { stackPrefix: string; region: string }, workflowId?: string): SweepTarget {
    return { environment, workflowId, ...location, selfHeal: workflowId !== undefined && policyFor(deps.policy, environment, false).selfHeal };
  }

  async function describe(environment: string, region: string, stackName: string): Promise<StackFacts | null> {
    try {
      const out = await deps.cloudFormation(region).send(new DescribeStacksCommand({ StackName: stackName }));
      const stack = out.Stacks?.[0];
      if (!stack || stack.StackStatus === 'DELETE_COMPLETE') return null;
      return {
        name: stackName,
        status: stack.StackStatus ?? 'UNKNOWN',
        parameters: Object.fromEntries((stack.Parameters ?? []).map((p) => [p.ParameterKey!, p.ParameterValue ?? ''])),
        tags: tagsOf(stack),
      };
    } catch (error) {
      const err = error as { name?: string; message?: string };
      if (err?.name === 'ValidationError' && /does not exist/.test(err.message ?? '')) return null;
      return awsCall({ environment, call: 'DescribeStacks', target: stackName }, () => Promise.reject(error));
    }
  }

  /** The id of a pipeline execution that runs now (one started outside cfn-gitops), if any. */
  async function runningExecution(environment: string, region: string, name: string): Promise<string | undefined> {
    try {
      const out = await deps.codePipeline(region).send(new ListPipelineExecutionsCommand({ pipelineName: name, maxResults: 5 }));
      return out.pipelineExecutionSummaries?.find((e) => e.status === 'InProgress' || e.status === 'Stopping')?.pipelineExecutionId;
    } catch (error) {
      // A pipeline deleted out of band shows as a deleted resource of the pipeline stack.
      if ((error as { name?: string })?.name === 'PipelineNotFoundException') return undefined;
      return awsCall({ environment, call: 'ListPipelineExecutions', target: name }, () => Promise.reject(error));
    }
  }

  /** DetectStackDrift on each stack, waits for the detections (heartbeating, with backoff), then lists what drifted. */
  async function detectDrift(environment: string, region: string, stackNames: string[]): Promise<{ drifted: string[]; failures: string[] }> {
    const client = deps.cloudFormation(region);
    const ids = await Promise.all(
      stackNames.map(async (stackName) => {
        const out = await awsCall({ environment, call: 'DetectStackDrift', target: stackName }, () => client.send(new DetectStackDriftCommand({ StackName: stackName })));
        return out.StackDriftDetectionId!;
      }),
    );
    const statuses = await pollUntil(deps.timing, async () => {
      const all: DescribeStackDriftDetectionStatusCommandOutput[] = await Promise.all(
        ids.map((id, i) =>
          awsCall({ environment, call: 'DescribeStackDriftDetectionStatus', target: stackNames[i]! }, () => client.send(new DescribeStackDriftDetectionStatusCommand({ StackDriftDetectionId: id }))),
        ),
      );
      return all.some((s) => s.DetectionStatus === 'DETECTION_IN_PROGRESS') ? undefined : all;
    });
    const drifted: string[] = [];
    const failures: string[] = [];
    for (const [i, status] of statuses.entries()) {
      const stackName = stackNames[i]!;
      if (status.DetectionStatus === 'DETECTION_FAILED') failures.push(`drift detection of ${stackName} failed: ${status.DetectionStatusReason ?? 'no reason given'}`);
      let nextToken: string | undefined;
      do {
        const page = await awsCall({ environment, call: 'DescribeStackResourceDrifts', target: stackName }, () =>
          client.send(new DescribeStackResourceDriftsCommand({ StackName: stackName, StackResourceDriftStatusFilters: ['MODIFIED', 'DELETED'], NextToken: nextToken })),
        );
        for (const drift of page.StackResourceDrifts ?? []) drifted.push(describeResourceDrift(stackName, drift));
        nextToken = page.NextToken;
      } while (nextToken);
    }
    return { drifted, failures };
  }

  /**
   * What the sweep finds for one environment (undefined when there is nothing to report): the
   * status model decides, asking for AWS's answers one at a time; this gathers them.
   */
  async function assess(t: SweepTarget, state: EnvironmentState | undefined): Promise<Finding | undefined> {
    const input: AssessInput = {
      environment: t.environment,
      workflowId: t.workflowId,
      environmentStackName: environmentStackName(t, t.environment),
      pipelineStackName: pipelineStackName(t, t.environment),
      state,
      installation: deps.installation,
      aws: {},
    };
    for (;;) {
      const step = assessSync(input);
      if (step.done) return step.finding;
      if (step.need === 'stacks') {
        const [environment, pipeline] = await Promise.all([describe(t.environment, t.region, input.environmentStackName), describe(t.environment, t.region, input.pipelineStackName)]);
        input.aws.stacks = { environment, pipeline };
      } else if (step.need === 'execution') {
        input.aws.runningExecution = (await runningExecution(t.environment, t.region, pipelineName(t, t.environment))) ?? null;
      } else {
        input.aws.drift = await detectDrift(t.environment, t.region, step.stackNames);
      }
    }
  }

  return {
    /**
     * What a sweep checks: every running environment workflow (at the prefix and region of its
     * last request), plus every environment whose stacks exist under a known prefix with no
     * running workflow of its own (the orphans). With `environment`, that one only.
     */
    async listSweepTargets(input: { environment?: string }): Promise<SweepTargets> {
      const wf = workflows();
      if (input.environment) {
        const workflowId = environmentWorkflowId(input.environment);
        const running = await wf.isRunning(workflowId);
        const state = running ? await wf.state(workflowId) : undefined;
        return { targets: [target(input.environment, locationOf(state), running ? workflowId : undefined)], concurrency: deps.concurrency };
      }

      const ids = (await wf.running()).filter((id) => environmentFromWorkflowId(id) !== undefined);
      const states = await mapLimit(ids, QUERY_CONCURRENCY, async (id) => ({ id, state: await wf.state(id) }));
      const targets = new Map<string, SweepTarget>();
      const key = (t: { environment: string; stackPrefix: string; region: string }) => `${t.region} ${t.stackPrefix} ${t.environment}`;
      for (const { id, state } of states) {
        const t = target(environmentFromWorkflowId(id)!, locationOf(state), id);
        targets.set(key(t), t);
      }

      // Orphans: stacks under a known prefix that no running workflow checks.
      const prefixesByRegion = new Map<string, Set<string>>([[deps.defaultRegion, new Set([DEFAULT_STACK_PREFIX])]]);
      for (const t of targets.values()) {
        const set = prefixesByRegion.get(t.region) ?? new Set<string>();
        prefixesByRegion.set(t.region, set.add(t.stackPrefix));
      }
      for (const [region, prefixSet] of prefixesByRegion) {
        // The longest prefix wins, so `cfn-gitops-team-prod` is `prod` under `cfn-gitops-team-`.
        const prefixes = [...prefixSet].sort((a, b) => b.length - a.length);
        let nextToken: string | undefined;
        do {
          const page = await awsCall({ environment: '*', call: 'ListStacks', target: region }, () =>
            deps.cloudFormation(region).send(new ListStacksCommand({ StackStatusFilter: LIVE_STATUSES, NextToken: nextToken })),
          );
          for (const summary of page.StackSummaries ?? []) {
            // The bootstrap stack shares the default prefix but is no environment's.
            if (summary.StackName === BOOTSTRAP_STACK_NAME) continue;
            const stackPrefix = prefixes.find((p) => environmentFromStackName(p, summary.StackName ?? '') !== undefined);
            if (stackPrefix === undefined) continue;
            const environment = environmentFromStackName(stackPrefix, summary.StackName!)!;
            const orphan = target(environment, { stackPrefix, region });
            if (!targets.has(key(orphan))) targets.set(key(orphan), orphan);
          }
          nextToken = page.NextToken;
          heartbeat({ region });
        } while (nextToken);
      }
      const sorted = [...targets.values()].sort((a, b) => a.environment.localeCompare(b.environment) || a.stackPrefix.localeCompare(b.stackPrefix) || a.region.localeCompare(b.region));
      log.info('drift sweep targets', { environments: sorted.length, workflows: ids.length });
      return { targets: sorted, concurrency: deps.concurrency };
    },

    /**
     * Checks one environment and reports the finding to its workflow (`syncStatus` signal).
     * Throttling and transient AWS failures are thrown for the retry policy to back off on;
     * any other AWS refusal becomes an `Unknown` report with AWS's reason.
     */
    async checkEnvironmentSync(t: SweepTarget): Promise<DriftCheck> {
      const wf = workflows();
      const state = t.workflowId ? await wf.state(t.workflowId) : undefined;
      let found: Finding | undefined;
      try {
        found = await assess(t, state);
      } catch (error) {
        if (!(error instanceof ApplicationFailure) || !error.nonRetryable) throw error;
        found = unknownFinding(state, error.message);
      }
      if (!found) return { environment: t.environment, workflowId: t.workflowId, reported: false };
      const report: SyncReport = { ...found, checkedAt: new Date().toISOString() };
      const reported = t.workflowId ? await wf.reportSync(t.workflowId, report) : false;
      log.info('sync status', { environment: t.environment, status: report.status, message: report.message });
      const applied = state?.applied?.commit;
      const deploysOfApplied = (state?.history ?? []).filter((r) => r.commit === applied && r.action === Action.Sync && r.result === 'Succeeded').length;
      const requestInHand = state?.current !== undefined || state?.pending !== undefined;
      return { environment: t.environment, workflowId: t.workflowId, report, reported, redeployedAlready: applied !== undefined && deploysOfApplied > 1, ...(requestInHand ? { requestInHand } : {}) };
    },
  };
}
