import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure, log } from '@temporalio/activity';
import { missingBucketFix } from '../common/bootstrap';
import { ErrorType } from '../common/errors';
import { templateObjectKey, templateUrl, type StoreTemplatesInput, type TemplateRef } from '../common/templates';
import type { ArtifactBuckets } from './artifact-bucket';
import { awsCall, isMissingObject } from './aws-errors';

/** SHA-256 of a template body's UTF-8 bytes, as `start` names it. */
export function sha256Of(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Where a stored template is, as a stack change or a source upload names it. */
export interface StoredTemplate extends TemplateRef {
  /** The repo's `artifactBucket` setting: a name, or the bootstrap stack's bucket. */
  bucket: string;
}

/** Bodies kept in memory, by hash: every environment of a push shares the same two. */
const CACHED_BODIES = 16;

/**
 * Reads and writes templates stored by hash in the artifact bucket. Bodies read are kept (a few,
 * by hash): a push of 500 environments reads each template once per worker, not 500 times.
 */
export function createTemplateStore(clientFor: (region: string) => S3Client, buckets: ArtifactBuckets) {
  const bodies = new Map<string, string>();
  const missing = (environment: string, ref: TemplateRef, where: string, why: string) =>
    ApplicationFailure.create({
      type: ErrorType.TemplateMissing,
      nonRetryable: true,
      message: `${environment}: template ${ref.sha256.slice(0, 12)} (${ref.bytes} bytes) ${why} at ${where}; run \`cfn-gitops start\` for the push again, which stores it`,
      details: [{ environment, sha256: ref.sha256, where }],
    });

  const store = {
    /** The template's S3 URL for CloudFormation (TemplateURL), in the resolved bucket. */
    async url(environment: string, region: string, template: StoredTemplate): Promise<string> {
      const bucket = await buckets.resolve({ environment, region, artifactBucket: template.bucket });
      return templateUrl(bucket, region, template.sha256);
    },

    /** The template's body, checked against its hash. @throws TemplateMissing when it is gone or altered. */
    async body(environment: string, region: string, template: StoredTemplate): Promise<string> {
      const cached = bodies.get(template.sha256);
      if (cached !== undefined) return cached;
      const bucket = await buckets.resolve({ environment, region, artifactBucket: template.bucket });
      const key = templateObjectKey(template.sha256);
      const where = `s3://${bucket}/${key}`;
      const text = await awsCall({ environment, call: 'GetObject', target: where, whenMissing: missingBucketFix(region, template.bucket, bucket) }, async () => {
        try {
          const out = await clientFor(region).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          return await out.Body!.transformToString('utf8');
        } catch (error) {
          if (isMissingObject(error)) return undefined;
          throw error;
        }
      });
      if (text === undefined) throw missing(environment, template, where, 'is not stored');
      if (sha256Of(text) !== template.sha256) throw missing(environment, template, where, 'does not match its hash');
      if (bodies.size >= CACHED_BODIES) bodies.delete(bodies.keys().next().value!);
      bodies.set(template.sha256, text);
      return text;
    },

    /**
     * Stores each body under its hash unless it is there already (HeadObject first: a push
     * whose templates did not change writes nothing). A body whose hash is not the one given is
     * refused, so a stored object always holds what its name says.
     */
    async put(environment: string, input: StoreTemplatesInput & { region: string }): Promise<TemplateRef[]> {
      const bucket = await buckets.resolve({ environment, region: input.region, artifactBucket: input.bucket });
      const whenMissing = missingBucketFix(input.region, input.bucket, bucket);
      const client = clientFor(input.region);
      const stored: TemplateRef[] = [];
      for (const { sha256, body } of input.templates) {
        const bytes = Buffer.from(body, 'utf8');
        if (sha256Of(bytes) !== sha256) {
          throw ApplicationFailure.create({ type: ErrorType.InvalidTemplate, nonRetryable: true, message: `template ${sha256.slice(0, 12)}: its body does not match the hash it was sent with` });
        }
        const key = templateObjectKey(sha256);
        const target = `s3://${bucket}/${key}`;
        const present = await awsCall({ environment, call: 'HeadObject', target, whenMissing }, async () => {
          try {
            await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
            return true;
          } catch (error) {
            if (isMissingObject(error)) return false;
            throw error;
          }
        });
        if (!present) {
          await awsCall({ environment, call: 'PutObject', target, whenMissing }, () =>
            client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: 'text/yaml' })),
          );
          log.info('template stored', { target, bytes: bytes.length });
        }
        stored.push({ sha256, bytes: bytes.length });
      }
      return stored;
    },
  };
  return store;
}

/** The template store the activities share. */
export type TemplateStore = ReturnType<typeof createTemplateStore>;
