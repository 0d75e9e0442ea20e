import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { z } from 'zod';
import { mapLimit } from '../common/concurrency';
import { doraFigures, parseDoraWindow, type DeploymentFact, type DeploymentVerdict, type DoraReport, type DoraWindow } from '../common/dora';
import { UsageError } from '../common/errors';
import { WorkflowType } from '../common/messages';
import { renderDoraTable } from '../common/render';
import { ENVIRONMENT } from '../common/search-attributes';
import type { TemporalSettings } from '../common/temporal-settings';
import { Action, DeploymentResult } from '../common/types';
import { connectClient } from './client';
import { ExitCode, type Output } from './start-command';

/** Reads the DORA figures from Temporal: visibility for the deployments, their histories for the commits. */
export interface DoraReader {
  /**
   * The figures of the deployments that ended in the window.
   * @throws the client's error when Temporal cannot be reached or the list query is refused.
   */
  read(window: DoraWindow): Promise<DoraReport>;
}

/** Options of {@link createDoraReader}. */
export interface DoraReaderOptions {
  /** Histories read at once (default 16). */
  concurrency?: number;
  /** Deployments whose commit the reader remembers between reads (default 50,000): a closed workflow's input never changes. */
  cacheSize?: number;
}

/** `cfn-gitops/<env>/<n>-<action>-<sha>`, as common/names.ts deploymentWorkflowId makes it. */
const DEPLOYMENT_ID = /^cfn-gitops\/([^/]+)\/(\d+)-(sync|delete)-([0-9a-f]+)$/;

/** What the figures read from a deployment's input (DeploymentInput): its commit's date and whether it is a self-heal. */
const deploymentInputSchema = z.object({
  desired: z.object({
    commit: z.object({ date: z.string() }),
    redeploy: z.boolean().optional(),
  }),
});

/** What one successful sync's input says. */
interface CommitFacts {
  commitDate?: string;
  redeploy?: boolean;
}

/**
 * How a closed deployment workflow counts. The environment workflow records a child that was
 * terminated or timed out as Failed, and one cancelled as Cancelled; a running one is not listed.
 */
function verdictOf(info: WorkflowExecutionInfo): DeploymentVerdict | undefined {
  switch (info.status.name) {
    case 'COMPLETED':
      return DeploymentResult.Succeeded;
    case 'FAILED':
    case 'TERMINATED':
    case 'TIMED_OUT':
      return DeploymentResult.Failed;
    case 'CANCELLED':
      return DeploymentResult.Cancelled;
    default:
      return undefined;
  }
}

/**
 * A DORA reader on one client. It lists the deployment workflows that closed in the window (one
 * visibility query) and reads the first event of each successful sync's history (its input holds
 * the commit and its date), remembering what it read.
 * @example const report = await createDoraReader(client).read(parseDoraWindow('30d', new Date()));
 */
export function createDoraReader(client: Client, options: DoraReaderOptions = {}): DoraReader {
  const cache = new Map<string, CommitFacts>();
  const cacheSize = options.cacheSize ?? 50_000;

  /** The commit date and self-heal flag from the deployment's WorkflowExecutionStarted event. */
  async function commitFacts(info: WorkflowExecutionInfo): Promise<CommitFacts> {
    const key = `${info.workflowId}/${info.runId}`;
    const known = cache.get(key);
    if (known) return known;
    const response = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId: info.workflowId, runId: info.runId },
      maximumPageSize: 1,
    });
    const started = response.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
    const input = deploymentInputSchema.safeParse(await decodeFromPayloadsAtIndex(client.options.loadedDataConverter, 0, started?.input?.payloads));
    const facts: CommitFacts = input.success ? { commitDate: input.data.desired.commit.date, redeploy: input.data.desired.redeploy } : {};
    cache.set(key, facts);
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
    return facts;
  }

  return {
    async read(window) {
      const query = [
        `WorkflowType = "${WorkflowType.Deployment}"`,
        `CloseTime >= "${window.since.toISOString()}"`,
        `CloseTime <= "${window.until.toISOString()}"`,
      ].join(' AND ');
      const listed: { info: WorkflowExecutionInfo; environment: string; action: Action; result: DeploymentVerdict }[] = [];
      for await (const info of client.workflow.list({ query })) {
        const id = DEPLOYMENT_ID.exec(info.workflowId);
        const result = verdictOf(info);
        if (!id || !result || !info.closeTime) continue;
        const attribute = info.typedSearchAttributes.get(ENVIRONMENT);
        listed.push({ info, environment: typeof attribute === 'string' ? attribute : id[1]!, action: id[3] as Action, result });
      }
      const unread: string[] = [];
      const facts = await mapLimit(listed, options.concurrency ?? 16, async ({ info, environment, action, result }): Promise<DeploymentFact> => {
        const fact: DeploymentFact = { environment, workflowId: info.workflowId, action, result, endedAt: info.closeTime!.toISOString() };
        if (action !== Action.Sync || result !== DeploymentResult.Succeeded) return fact;
        try {
          return { ...fact, ...(await commitFacts(info)) };
        } catch (error) {
          unread.push(`${info.workflowId}: ${(error as Error).message}`);
          return fact;
        }
      });
      const warnings = unread.length
        ? [`lead time left out for ${unread.length} deployment(s) whose history could not be read: ${unread.slice(0, 3).join('; ')}${unread.length > 3 ? '; …' : ''}`]
        : [];
      return doraFigures(facts, window, warnings);
    },
  };
}

/** Flags of `cfn-gitops dora`. */
export interface DoraFlags {
  /** A duration back from now (`30d`) or an ISO-8601 date or time; default 30d. */
  since?: string;
  /** Print the JSON `GET /api/dora` answers. */
  json?: boolean;
}

/**
 * `cfn-gitops dora [--since 30d] [--json]`: the four DORA figures per environment and overall.
 * @throws UsageError for a `--since` that is neither a duration nor a date; the client's error when Temporal cannot be reached.
 * @example await doraCommand({ since: '7d', json: true }, readTemporalSettings(), output)
 */
export async function doraCommand(flags: DoraFlags, settings: TemporalSettings, output: Output): Promise<number> {
  let window: DoraWindow;
  try {
    window = parseDoraWindow(flags.since, new Date());
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^since:/, '--since:'));
  }
  const temporal = await connectClient(settings);
  try {
    const report = await createDoraReader(temporal.client).read(window);
    output.out(flags.json ? JSON.stringify(report, null, 2) : renderDoraTable(report));
    return ExitCode.Ok;
  } finally {
    await temporal.close();
  }
}
