import { createHash } from 'node:crypto';

/**
 * An idempotency token for a creating call, derived from the workflow and the desired state
 * (never the attempt), so that a retried or replayed call is the same request to AWS.
 * Fits both CloudFormation's `[a-zA-Z][-a-zA-Z0-9]*` and CodePipeline's `[a-zA-Z0-9-]+`.
 */
export function requestToken(requestKey: string): string {
  return `cfn-gitops-${createHash('sha256').update(requestKey).digest('hex').slice(0, 40)}`;
}
