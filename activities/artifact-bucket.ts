import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ApplicationFailure, log } from '@temporalio/activity';
import { BOOTSTRAP_BUCKET_OUTPUT, BOOTSTRAP_STACK_NAME, isBootstrapBucket, missingBucketFix } from '../common/bootstrap';
import { ErrorType } from '../common/errors';
import { awsCall } from './aws-errors';

/** Which bucket a desired state's `artifactBucket` means, for one environment in one region. */
export interface ArtifactBucketRequest {
  environment: string;
  region: string;
  /** As `common/gitops.yaml` gives it: a bucket name, or the bootstrap bucket when it names none. */
  artifactBucket: string;
}

/** Resolves `artifactBucket` to a real bucket name; `forget` drops what it learnt of a region. */
export interface ArtifactBuckets {
  /**
   * The bucket name: the one named, or the bootstrap stack's output in the region (read once
   * per region and kept).
   * @throws ApplicationFailure ArtifactBucketMissing (non-retryable) when the region has no
   * bootstrap stack, naming `cfn-gitops bootstrap`; StackBusy while that stack is being created.
   */
  resolve(request: ArtifactBucketRequest): Promise<string>;
  /** Forgets the region's bootstrap bucket, e.g. after S3 said it does not exist. */
  forget(region: string): void;
}

function isMissingStack(error: unknown): boolean {
  const err = error as { name?: string; message?: string };
  return err?.name === 'ValidationError' && /does not exist/.test(err.message ?? '');
}

/**
 * The artifact bucket resolver the activities share. The bootstrap stack's bucket is looked up
 * with DescribeStacks once per region and kept for the worker's lifetime: every sync needs it,
 * and it changes only when someone bootstraps the region anew.
 * @example const buckets = createArtifactBuckets((region) => cloudFormation(region));
 */
export function createArtifactBuckets(clientFor: (region: string) => CloudFormationClient): ArtifactBuckets {
  const known = new Map<string, string>();
  return {
    forget: (region) => void known.delete(region),
    async resolve({ environment, region, artifactBucket }) {
      if (!isBootstrapBucket(artifactBucket)) return artifactBucket;
      const cached = known.get(region);
      if (cached) return cached;
      const stack = await awsCall({ environment, call: 'DescribeStacks', target: BOOTSTRAP_STACK_NAME }, async () => {
        try {
          return (await clientFor(region).send(new DescribeStacksCommand({ StackName: BOOTSTRAP_STACK_NAME }))).Stacks?.[0];
        } catch (error) {
          if (isMissingStack(error)) return undefined;
          throw error;
        }
      });
      const bucket = stack?.Outputs?.find((o) => o.OutputKey === BOOTSTRAP_BUCKET_OUTPUT)?.OutputValue;
      if (bucket) {
        known.set(region, bucket);
        log.info('bootstrap bucket found', { region, bucket });
        return bucket;
      }
      const status = stack?.StackStatus ?? '';
      if (/^(CREATE|UPDATE)_IN_PROGRESS$/.test(status)) {
        // Someone runs `cfn-gitops bootstrap` right now: the retry policy waits for it.
        throw ApplicationFailure.create({ type: ErrorType.StackBusy, message: `${environment}: stack ${BOOTSTRAP_STACK_NAME} in ${region} is ${status}; its bucket is not ready yet` });
      }
      const found = stack ? `stack ${BOOTSTRAP_STACK_NAME} is ${status} without its ${BOOTSTRAP_BUCKET_OUTPUT} output` : `stack ${BOOTSTRAP_STACK_NAME} does not exist`;
      throw ApplicationFailure.create({
        type: ErrorType.ArtifactBucketMissing,
        nonRetryable: true,
        message: `${environment}: no artifact bucket in ${region}: ${found}; ${missingBucketFix(region, artifactBucket)}`,
        details: [{ environment, region, stackName: BOOTSTRAP_STACK_NAME, stackStatus: stack?.StackStatus }],
      });
    },
  };
}
