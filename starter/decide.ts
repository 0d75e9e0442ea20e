import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { approveUpdate, cancelUpdate, rejectUpdate, stateQuery } from '../common/messages';
import { environmentWorkflowId } from '../common/names';
import type { ApprovalDecision, CancelRequest, DecisionResult, EnvironmentState, PendingApproval } from '../common/types';
import { mapLimit } from '../common/concurrency';

/** Thrown by approve, reject and cancel when the workflow refused the request (its validator said why). */
export class DecisionRefusedError extends Error {
  override readonly name = 'DecisionRefusedError';
  constructor(readonly environment: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`${environment}: ${reason}`, options);
  }
}

async function update<A>(client: Client, environment: string, run: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<DecisionResult>): Promise<DecisionResult> {
  const handle = client.workflow.getHandle(environmentWorkflowId(environment));
  try {
    return await run(handle);
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      throw new DecisionRefusedError(environment, (error.cause as Error | undefined)?.message ?? error.message, { cause: error });
    }
    if ((error as { name?: string }).name === 'WorkflowNotFoundError') {
      throw new DecisionRefusedError(environment, `no workflow for environment ${environment}`, { cause: error });
    }
    throw error;
  }
}

/**
 * Approves what waits in an environment (an Update: the answer says whether it was taken).
 * @throws DecisionRefusedError with the workflow's reason (wrong version, self-approval, nothing waits).
 * @example await approve(client, 'prod', { by: 'alice', version: '1.4.2' })
 */
export function approve(client: Client, environment: string, decision: ApprovalDecision): Promise<DecisionResult> {
  return update(client, environment, (handle) => handle.executeUpdate(approveUpdate, { args: [decision] }));
}

/**
 * Rejects what waits in an environment.
 * @throws DecisionRefusedError when nothing waits.
 */
export function reject(client: Client, environment: string, decision: ApprovalDecision): Promise<DecisionResult> {
  return update(client, environment, (handle) => handle.executeUpdate(rejectUpdate, { args: [decision] }));
}

/**
 * Cancels what runs or waits in an environment: a running pipeline execution is stopped.
 * @throws DecisionRefusedError when nothing runs.
 */
export function cancel(client: Client, environment: string, request: CancelRequest): Promise<DecisionResult> {
  return update(client, environment, (handle) => handle.executeUpdate(cancelUpdate, { args: [request] }));
}

/** The states of every running environment workflow, by a visibility list query then one query each. */
export async function environmentStates(client: Client, query = `WorkflowType = "environmentWorkflow" AND ExecutionStatus = "Running"`): Promise<EnvironmentState[]> {
  const ids: string[] = [];
  for await (const execution of client.workflow.list({ query })) ids.push(execution.workflowId);
  const states = await mapLimit(ids, 16, async (id) => {
    try {
      return await client.workflow.getHandle(id).query(stateQuery);
    } catch {
      return undefined;
    }
  });
  return states.filter((s): s is EnvironmentState => s !== undefined).sort((a, b) => a.environment.localeCompare(b.environment));
}

/** What waits for approval, and for whom. */
export async function pendingApprovals(client: Client): Promise<PendingApproval[]> {
  const states = await environmentStates(client, `WorkflowType = "environmentWorkflow" AND ExecutionStatus = "Running" AND DeployPhase = "WaitingForApproval"`);
  return states.map((s) => s.approval).filter((a): a is PendingApproval => a !== undefined);
}
