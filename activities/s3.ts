import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { log } from '@temporalio/activity';
import { zipSync, strToU8 } from 'fflate';
import { missingBucketFix } from '../common/bootstrap';
import { ErrorType } from '../common/errors';
import { sourceObjectKey } from '../common/names';
import type { ArtifactBuckets } from './artifact-bucket';
import { awsCall, isMissingObject } from './aws-errors';
import { createTemplateStore, type StoredTemplate, type TemplateStore } from './templates';

/** Fixed time inside the zip, so that one template always gives the same bytes. */
const ZIP_MTIME = new Date('2020-01-01T00:00:00Z');

/** Object metadata naming the template a source.zip holds, so an unchanged one is not uploaded again. */
const TEMPLATE_METADATA = 'template-sha256';

/** Buckets taken as named: for callers without a bootstrap lookup. */
const AS_NAMED: ArtifactBuckets = { resolve: async ({ artifactBucket }) => artifactBucket, forget: () => undefined };

/** What publishSource uploads. */
export interface SourceInput {
  environment: string;
  region: string;
  /** The repo's `artifactBucket`: a name, or the bootstrap stack's bucket. */
  bucket: string;
  /** The template's body (desired states from before templates travelled by hash). */
  environmentTemplate?: string;
  /** The template stored by hash. */
  environmentTemplateRef?: StoredTemplate;
}

/** S3 activities: the pipeline's Source stage reads the environment template from the artifact bucket. */
export function createS3Activities(clientFor: (region: string) => S3Client, buckets: ArtifactBuckets = AS_NAMED, templates: TemplateStore = createTemplateStore(clientFor, buckets)) {
  return {
    /**
     * Uploads `environment.yaml`, zipped as CodePipeline's S3 source wants it, for the pipeline to
     * deploy; a source.zip that already holds the same template (by hash) is left as it is.
     * A bucket that does not exist fails with ArtifactBucketMissing naming `cfn-gitops bootstrap`.
     */
    async publishSource(input: SourceInput): Promise<string> {
      const key = sourceObjectKey(input.environment);
      const bucket = await buckets.resolve({ environment: input.environment, region: input.region, artifactBucket: input.bucket });
      const whenMissing = missingBucketFix(input.region, input.bucket, bucket);
      const target = `s3://${bucket}/${key}`;
      const client = clientFor(input.region);
      try {
        const ref = input.environmentTemplateRef;
        if (ref) {
          const head = await awsCall({ environment: input.environment, call: 'HeadObject', target, whenMissing }, () =>
            client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch((error: unknown) => {
              if (isMissingObject(error)) return undefined;
              throw error;
            }),
          );
          if (head?.Metadata?.[TEMPLATE_METADATA] === ref.sha256) {
            log.info('source unchanged', { target });
            return `s3://${bucket}/${key}`;
          }
        }
        const template = ref ? await templates.body(input.environment, input.region, ref) : input.environmentTemplate!;
        const body = zipSync({ 'environment.yaml': [strToU8(template), { mtime: ZIP_MTIME }] });
        await awsCall({ environment: input.environment, call: 'PutObject', target, whenMissing }, () =>
          client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/zip', Metadata: ref ? { [TEMPLATE_METADATA]: ref.sha256 } : undefined })),
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
