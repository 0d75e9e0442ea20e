import { ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { BOOTSTRAP_BUCKET } from '../../common/bootstrap';
import { bootstrap } from '../../starter/bootstrap';
import { PIPELINE_TEMPLATE, ENVIRONMENT_TEMPLATE } from '../emulator/helpers';
import { failure, newAttempt, REGION, startTier, type Tier } from './harness';

/**
 * Activity tier, the bootstrap bucket: a repo whose common/gitops.yaml names no artifactBucket
 * hands the activities BOOTSTRAP_BUCKET; publishSource and the pipeline stack's ArtifactBucket
 * parameter become the bucket of the stack cfn-gitops-bootstrap, looked up once per region.
 */
describe('the bootstrap bucket in the activities', () => {
  let tier: Tier;

  beforeAll(async () => {
    tier = await startTier();
  });
  afterAll(async () => {
    await tier.close();
  });

  const publish = (environment: string) => newAttempt().run(tier.activities.publishSource, { environment, region: REGION, bucket: BOOTSTRAP_BUCKET, environmentTemplate: ENVIRONMENT_TEMPLATE });
  const lookups = async () => (await tier.calls({ operation: 'DescribeStacks', target: 'cfn-gitops-bootstrap' })).length;
  const change = (environment: string) => ({
    environment,
    region: REGION,
    stackName: `cfn-gitops-${environment}-pipeline`,
    templateBody: PIPELINE_TEMPLATE,
    parameters: { EnvironmentName: environment, PipelineName: `cfn-gitops-${environment}`, EnvironmentStackName: `cfn-gitops-${environment}`, AppVersion: '1.0.0', ArtifactBucket: BOOTSTRAP_BUCKET },
    requiredParameters: [],
    requestKey: `cfn-gitops/${environment}/1-sync`,
  });

  let bucket: string;

  it('without the bootstrap stack, publishSource and createStack fail as non-retryable ArtifactBucketMissing naming `cfn-gitops bootstrap`', async () => {
    const published = await failure(publish('dev'));
    expect(published).toMatchObject({
      type: 'ArtifactBucketMissing',
      nonRetryable: true,
      message:
        'dev: no artifact bucket in us-east-1: stack cfn-gitops-bootstrap does not exist; common/gitops.yaml names no artifactBucket, so the bucket of stack ' +
        'cfn-gitops-bootstrap is used; run `cfn-gitops bootstrap --region us-east-1` once in that account and region',
    });
    const created = await failure(newAttempt().run(tier.activities.createStack, change('dev')));
    expect(created).toMatchObject({ type: 'ArtifactBucketMissing', nonRetryable: true });
    expect((await tier.aws.cfn.send(new ListStacksCommand({}))).StackSummaries).toEqual([]);
  });

  it('after bootstrap, the source goes to the stack\'s bucket and the pipeline stack gets its name; the stack is read once', async () => {
    ({ bucket } = await bootstrap({ cloudFormation: tier.aws.cfn, region: REGION, wait: { minDelay: 0.05, maxDelay: 0.5 } }));
    const before = await lookups();
    expect(await publish('dev')).toBe(`s3://${bucket}/cfn-gitops/dev/source.zip`);
    expect((await tier.aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cfn-gitops/dev/source.zip' }))).ContentType).toBe('application/zip');

    await newAttempt().run(tier.activities.createStack, change('dev'));
    await newAttempt().run(tier.activities.waitForStack, { environment: 'dev', region: REGION, stackName: 'cfn-gitops-dev-pipeline', operation: 'create' as const });
    const stack = await newAttempt().run(tier.activities.describeStack, { environment: 'dev', region: REGION, stackName: 'cfn-gitops-dev-pipeline' });
    expect(stack?.parameters.ArtifactBucket).toBe(bucket);
    // The same desired state again needs no update: the resolved name is what the stack holds.
    expect((await newAttempt().run(tier.activities.inspectStack, change('dev'))).needsUpdate).toBe(false);
    expect(await lookups()).toBe(before + 1);
  });

  it('a bootstrap bucket deleted by hand fails naming the bucket and the fix, and is looked up anew next time', async () => {
    // The pipeline's first run left artifacts too: empty the bucket first, as S3 wants.
    const objects = (await tier.aws.s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? [];
    for (const object of objects) await tier.aws.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
    await tier.aws.s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    const before = await lookups();
    const gone = await failure(publish('dev'));
    expect(gone).toMatchObject({
      type: 'ArtifactBucketMissing',
      nonRetryable: true,
      message: `dev: PutObject s3://${bucket}/cfn-gitops/dev/source.zip: The specified bucket does not exist; bucket ${bucket} of stack cfn-gitops-bootstrap is gone; delete that stack and run \`cfn-gitops bootstrap --region us-east-1\` again`,
    });
    await failure(publish('dev'));
    expect(await lookups()).toBe(before + 1);
  });
});
