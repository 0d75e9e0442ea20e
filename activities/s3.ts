import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { log } from '@temporalio/activity';
import { zipSync, strToU8 } from 'fflate';
import { missingBucketFix } from '../common/bootstrap';
import { ErrorType } from '../common/errors';
import { sourceObjectKey } from '../common/names';
import type { ArtifactBuckets } from './artifact-bucket';
import { awsCall } from './aws-errors';

/** Fixed time inside the zip, so that one template always gives the same bytes. */
const ZIP_MTIME = new Date('2020-01-01T00:00:00Z');

/** Buckets taken as named: for callers without a bootstrap lookup. */
const AS_NAMED: ArtifactBuckets = { resolve: async ({ artifactBucket }) => artifactBucket, forget: () => undefined };

/** S3 activities: the pipeline's Source stage reads the environment template from the artifact bucket. */
export function createS3Activities(clientFor: (region: string) => S3Client, buckets: ArtifactBuckets = AS_NAMED) {
  return {
    /**
     * Uploads `environment.yaml`, zipped as CodePipeline's S3 source wants it, for the pipeline to
     * deploy. `bucket` is the repo's `artifactBucket`: a name, or the bootstrap stack's bucket.
     * A bucket that does not exist fails with ArtifactBucketMissing naming `cfn-gitops bootstrap`.
     */
    async publishSource(input: { environment: string; region: string; bucket: string; environmentTemplate: string }): Promise<string> {
      const key = sourceObjectKey(input.environment);
      const bucket = await buckets.resolve({ environment: input.environment, region: input.region, artifactBucket: input.bucket });
      const body = zipSync({ 'environment.yaml': [strToU8(input.environmentTemplate), { mtime: ZIP_MTIME }] });
      const whenMissing = missingBucketFix(input.region, input.bucket, bucket);
      try {
        await awsCall({ environment: input.environment, call: 'PutObject', target: `s3://${bucket}/${key}`, whenMissing }, () =>
          clientFor(input.region).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/zip' })),
        );
      } catch (error) {
        // The bootstrap bucket is looked up anew next time: the region may have been bootstrapped again.
        if ((error as { type?: string }).type === ErrorType.ArtifactBucketMissing) buckets.forget(input.region);
        throw error;
      }
      log.info('source published', { bucket, key });
      return `s3://${bucket}/${key}`;
    },
  };
}
