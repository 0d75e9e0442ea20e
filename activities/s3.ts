import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { log } from '@temporalio/activity';
import { zipSync, strToU8 } from 'fflate';
import { sourceObjectKey } from '../common/names';
import { awsCall } from './aws-errors';

/** Fixed time inside the zip, so that one template always gives the same bytes. */
const ZIP_MTIME = new Date('2020-01-01T00:00:00Z');

/** S3 activities: the pipeline's Source stage reads the environment template from the artifact bucket. */
export function createS3Activities(clientFor: (region: string) => S3Client) {
  return {
    /** Uploads `environment.yaml`, zipped as CodePipeline's S3 source wants it, for the pipeline to deploy. */
    async publishSource(input: { environment: string; region: string; bucket: string; environmentTemplate: string }): Promise<string> {
      const key = sourceObjectKey(input.environment);
      const body = zipSync({ 'environment.yaml': [strToU8(input.environmentTemplate), { mtime: ZIP_MTIME }] });
      await awsCall({ environment: input.environment, call: 'PutObject', target: `s3://${input.bucket}/${key}` }, () =>
        clientFor(input.region).send(new PutObjectCommand({ Bucket: input.bucket, Key: key, Body: body, ContentType: 'application/zip' })),
      );
      log.info('source published', { bucket: input.bucket, key });
      return `s3://${input.bucket}/${key}`;
    },
  };
}
