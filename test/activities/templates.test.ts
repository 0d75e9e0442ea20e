import { GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { strFromU8, unzipSync } from 'fflate';
import { sha256Of } from '../../activities/templates';
import { templateObjectKey, type StoreTemplatesInput } from '../../common/templates';
import { BUCKET, failure, newAttempt, REGION, startTier, type Tier } from './harness';

/**
 * Activity tier, templates by hash: `storeTemplates` writes each body once under its hash in
 * the artifact bucket; stack changes read it through TemplateURL and the source upload from S3,
 * so a template of up to 1 MB deploys and no body rides in an activity input.
 */

const SMALL = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n";
/** A pipeline template of about 900 KB: far past TemplateBody's 51,200 bytes, under TemplateURL's 1 MB. */
const LARGE = `${SMALL}${'# a long comment line that grows the template towards its S3 limit\n'.repeat(13_500)}`;

const stored = (body: string) => ({ sha256: sha256Of(body), bytes: Buffer.byteLength(body), bucket: BUCKET });

describe('templates stored by hash, against the emulator', () => {
  let tier: Tier;

  beforeAll(async () => {
    tier = await startTier();
  });
  afterAll(async () => {
    await tier.close();
  });

  const store = (input: StoreTemplatesInput) => newAttempt().run(tier.activities.storeTemplates, input);
  const puts = async (key: string) => (await tier.calls({ operation: 'PutObject' })).filter((call) => call.target?.includes(key)).length;

  it('storeTemplates writes each body once under its hash; a push of the same templates writes nothing', async () => {
    expect(LARGE.length).toBeGreaterThan(880_000);
    const templates = [SMALL, LARGE].map((body) => ({ sha256: sha256Of(body), body }));
    expect(await store({ bucket: BUCKET, region: REGION, templates })).toEqual([
      { sha256: sha256Of(SMALL), bytes: Buffer.byteLength(SMALL) },
      { sha256: sha256Of(LARGE), bytes: Buffer.byteLength(LARGE) },
    ]);
    const object = await tier.aws.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: templateObjectKey(sha256Of(LARGE)) }));
    expect(await object.Body!.transformToString()).toBe(LARGE);

    await store({ bucket: BUCKET, templates });
    expect(await puts(templateObjectKey(sha256Of(SMALL)))).toBe(1);
    expect(await puts(templateObjectKey(sha256Of(LARGE)))).toBe(1);
  });

  it('refuses a body that is not what its hash says, storing nothing', async () => {
    const forged = await failure(store({ bucket: BUCKET, templates: [{ sha256: sha256Of(SMALL), body: `${SMALL}# changed\n` }] }));
    expect(forged).toMatchObject({ type: 'InvalidTemplate', nonRetryable: true });
    expect(forged.message).toContain('does not match the hash');
  });

  it('a 900 KB pipeline template creates its stack through TemplateURL; inspect finds nothing to update and validates it once', async () => {
    const changed = `${LARGE}# one more line\n`;
    await store({ bucket: BUCKET, templates: [LARGE, changed].map((body) => ({ sha256: sha256Of(body), body })) });
    const validationsBefore = (await tier.calls({ operation: 'ValidateTemplate' })).length;
    const change = { environment: 'big', region: REGION, stackName: 'cfn-gitops-big-pipeline', template: stored(LARGE), parameters: {}, requiredParameters: [], requestKey: 'templates-test/big' };

    await newAttempt().run(tier.activities.createStack, change);
    await newAttempt().run(tier.activities.waitForStack, { environment: 'big', region: REGION, stackName: change.stackName, operation: 'create' as const });
    const template = await tier.aws.cfn.send(new GetTemplateCommand({ StackName: change.stackName, TemplateStage: 'Original' }));
    expect(template.TemplateBody).toBe(LARGE);
    const creates = await tier.calls({ operation: 'CreateStack', target: change.stackName });
    expect(creates).toHaveLength(1);

    const inspection = await newAttempt().run(tier.activities.inspectStack, change);
    expect(inspection).toMatchObject({ stack: { status: 'CREATE_COMPLETE' }, needsUpdate: false });
    expect(await newAttempt().run(tier.activities.inspectStack, { ...change, template: stored(changed) })).toMatchObject({ needsUpdate: true });
    // Once per template and worker: the create and the first inspection share one, the changed template has its own.
    expect((await tier.calls({ operation: 'ValidateTemplate' })).length - validationsBefore).toBe(2);
  });

  it('publishSource zips the stored template; an unchanged source is not uploaded again', async () => {
    await store({ bucket: BUCKET, templates: [SMALL, `${SMALL}# v2\n`].map((body) => ({ sha256: sha256Of(body), body })) });
    const publish = (body: string) => newAttempt().run(tier.activities.publishSource, { environment: 'dev', region: REGION, bucket: BUCKET, environmentTemplateRef: stored(body) });
    const key = 'cfn-gitops/dev/source.zip';

    await publish(SMALL);
    const object = await tier.aws.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(strFromU8(unzipSync(await object.Body!.transformToByteArray())['environment.yaml']!)).toBe(SMALL);
    await publish(SMALL);
    expect(await puts(key)).toBe(1);
    await publish(`${SMALL}# v2\n`);
    expect(await puts(key)).toBe(2);
    expect((await tier.aws.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).Metadata).toEqual({ 'template-sha256': sha256Of(`${SMALL}# v2\n`) });
  });

  it('a template that is not stored fails as non-retryable TemplateMissing saying to run start again', async () => {
    const missing = await failure(newAttempt().run(tier.activities.publishSource, { environment: 'qa', region: REGION, bucket: BUCKET, environmentTemplateRef: stored(`${SMALL}# never stored\n`) }));
    expect(missing).toMatchObject({ type: 'TemplateMissing', nonRetryable: true });
    expect(missing.message).toMatch(/^qa: template [0-9a-f]{12} \(\d+ bytes\) is not stored at s3:\/\/cfn-gitops-artifacts\/cfn-gitops\/_templates\/[0-9a-f]{64}\.yaml; run `cfn-gitops start` for the push again/);
  });
});
