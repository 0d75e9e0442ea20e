import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { strFromU8, unzipSync } from 'fflate';
import { BUCKET, failure, newAttempt, REGION, S3_ERRORS, startTier, type Tier } from './harness';

/**
 * Activity tier, S3: `publishSource` in a mock activity context with the real SDK client against
 * the emulator; the object the pipeline's Source stage reads, and the failures it maps.
 */

const TEMPLATE = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n";

describe('S3 activities against the emulator', () => {
  let tier: Tier;

  beforeAll(async () => {
    tier = await startTier();
  });
  afterAll(async () => {
    await tier.close();
  });
  afterEach(async () => {
    await tier.clearFaults();
  });

  const publish = (environment: string, environmentTemplate = TEMPLATE, bucket = BUCKET) =>
    newAttempt().run(tier.activities.publishSource, { environment, region: REGION, bucket, environmentTemplate });

  async function head(key: string) {
    return tier.aws.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).catch((error: { name?: string }) => {
      if (error.name === 'NotFound') return undefined;
      throw error;
    });
  }

  it('publishSource uploads the environment template zipped as environment.yaml under the environment\'s key; the same template gives the same bytes', async () => {
    expect(await publish('dev')).toBe('s3://cfn-gitops-artifacts/cfn-gitops/dev/source.zip');
    const object = await tier.aws.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cfn-gitops/dev/source.zip' }));
    expect(object.ContentType).toBe('application/zip');
    const files = unzipSync(await object.Body!.transformToByteArray());
    expect(Object.keys(files)).toEqual(['environment.yaml']);
    expect(strFromU8(files['environment.yaml']!)).toBe(TEMPLATE);

    const first = await head('cfn-gitops/dev/source.zip');
    await publish('dev');
    expect((await head('cfn-gitops/dev/source.zip'))?.ETag).toBe(first?.ETag);
    await publish('dev', `${TEMPLATE}Outputs:\n  Name: { Value: !GetAtt Topic.TopicName }\n`);
    expect((await head('cfn-gitops/dev/source.zip'))?.ETag).not.toBe(first?.ETag);
    // Another environment's source is its own object.
    expect(await head('cfn-gitops/prod/source.zip')).toBeUndefined();
  });

  it('a bucket that does not exist fails as non-retryable ArtifactBucketMissing naming the environment, the object and `cfn-gitops bootstrap`', async () => {
    const missing = await failure(publish('dev', TEMPLATE, 'no-such-bucket'));
    expect(missing).toMatchObject({
      type: 'ArtifactBucketMissing',
      nonRetryable: true,
      message:
        'dev: PutObject s3://no-such-bucket/cfn-gitops/dev/source.zip: The specified bucket does not exist; create the bucket common/gitops.yaml names as artifactBucket with ' +
        '`cfn-gitops bootstrap --region us-east-1 --bucket-name no-such-bucket`, or leave artifactBucket out and run `cfn-gitops bootstrap --region us-east-1`',
      details: [{ environment: 'dev', call: 'PutObject', awsError: 'NoSuchBucket', httpStatus: 404 }],
    });
  });

  it.each(S3_ERRORS)('$code ($status) from PutObject becomes $type (nonRetryable: $nonRetryable), and nothing is written', async (error) => {
    const environment = `e-${error.code.toLowerCase()}`;
    await tier.fault({ service: 's3', operation: 'PutObject', error: { code: error.code, message: error.message, status: error.status }, count: 1 });
    const thrown = await failure(publish(environment));
    expect(thrown).toMatchObject({
      type: error.type,
      nonRetryable: error.nonRetryable,
      message: `${environment}: PutObject s3://${BUCKET}/cfn-gitops/${environment}/source.zip: ${error.message}`,
      details: [{ awsError: error.code, httpStatus: error.status }],
    });
    expect(await head(`cfn-gitops/${environment}/source.zip`)).toBeUndefined();
    // The retry policy's next attempt publishes it.
    expect(await publish(environment)).toBe(`s3://${BUCKET}/cfn-gitops/${environment}/source.zip`);
  });

  it('a throttled upload (random SlowDown) is retryable', async () => {
    await tier.fault({ service: 's3', operation: 'PutObject', throttleRate: 1 });
    const thrown = await failure(publish('throttled'));
    expect(thrown).toMatchObject({ type: 'AwsThrottled', nonRetryable: false });
    expect((await tier.calls({ service: 's3', operation: 'PutObject' })).at(-1)).toMatchObject({ status: 503, errorCode: 'SlowDown' });
  });
});
