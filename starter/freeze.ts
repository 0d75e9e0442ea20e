import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { mapLimit } from '../common/concurrency';
import { freezeUpdate, unfreezeUpdate, WorkflowType } from '../common/messages';
import { environmentWorkflowId } from '../common/names';
import { ENVIRONMENT } from '../common/search-attributes';
import type { DecisionResult, FreezeRequest } from '../common/types';

/** Which environments a freeze or unfreeze is for: named ones, or every running environment workflow. */
export type FreezeTargets = { environments: string[] } | { all: true };

/** The running environment workflows' environments, from visibility. */
async function runningEnvironments(client: Client): Promise<string[]> {
  const names: string[] = [];
  const query = `WorkflowType = "${WorkflowType.Environment}" AND ExecutionStatus = "Running"`;
  for await (const execution of client.workflow.list({ query })) {
    const name = execution.typedSearchAttributes?.get(ENVIRONMENT) ?? execution.workflowId.replace(/^cfn-gitops\//, '');
    names.push(name);
  }
  return [...new Set(names)].sort();
}

/** One environment's answer; a refusal (`accepted: false`) says why. */
async function answer(environment: string, send: () => Promise<DecisionResult>): Promise<DecisionResult> {
  try {
    return await send();
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) return { environment, accepted: false, message: (error.cause as Error | undefined)?.message ?? error.message };
    if ((error as { name?: string }).name === 'WorkflowNotFoundError') return { environment, accepted: false, message: `no workflow for environment ${environment}` };
    throw error;
  }
}

/**
 * Freezes environments (Update `freeze` to each environment workflow): what runs finishes, nothing
 * new starts, and pushes wait in phase Frozen (the newest replacing older ones) until `unfreeze`.
 * A named environment without a workflow gets one (update-with-start), so that a freeze can come
 * before the first push; `--all` freezes every running environment workflow.
 * @throws Error when Temporal cannot be reached; a refusal is an answer with `accepted: false`.
 * @example await freeze(client, 'cfn-gitops', { environments: ['prod'] }, { reason: 'incident 42', by: 'alice' })
 */
export async function freeze(client: Client, taskQueue: string, targets: FreezeTargets, request: FreezeRequest): Promise<DecisionResult[]> {
  const environments = 'all' in targets ? await runningEnvironments(client) : targets.environments;
  return mapLimit(environments, 16, (environment) =>
    answer(environment, () =>
      client.workflow.executeUpdateWithStart(freezeUpdate, {
        args: [request],
        startWorkflowOperation: new WithStartWorkflowOperation(WorkflowType.Environment, {
          workflowId: environmentWorkflowId(environment),
          taskQueue,
          args: [{ environment }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          typedSearchAttributes: [{ key: ENVIRONMENT, value: environment }],
          staticSummary: `environment ${environment}`,
          staticDetails: `Environment workflow of **${environment}**: takes desired states from git main and runs one deployment at a time.`,
        }),
      }),
    ),
  );
}

/**
 * Lifts freezes set by {@link freeze}; a request held by one goes ahead (freeze windows of the
 * settings stay). `--all` unfreezes every running environment workflow.
 * @throws Error when Temporal cannot be reached; an environment that is not frozen answers `accepted: false`.
 */
export async function unfreeze(client: Client, targets: FreezeTargets, by?: string): Promise<DecisionResult[]> {
  const environments = 'all' in targets ? await runningEnvironments(client) : targets.environments;
  return mapLimit(environments, 16, (environment) =>
    answer(environment, () => client.workflow.getHandle(environmentWorkflowId(environment)).executeUpdate(unfreezeUpdate, { args: [by ? { by } : {}] })),
  );
}
