import { ActivityFailure, ChildWorkflowFailure } from '@temporalio/workflow';

/**
 * The message people read: the first failure under the child and activity wrappers, i.e. the
 * activity's "env: call target: AWS's reason". Not the innermost one: that is the AWS SDK's own
 * error, which names neither the environment nor the call.
 */
export function failureMessage(error: unknown): string {
  let current: unknown = error;
  while ((current instanceof ChildWorkflowFailure || current instanceof ActivityFailure) && current.cause) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}
