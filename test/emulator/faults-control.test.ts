import { CreateStackCommand, DescribeStacksCommand, ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { ListPipelinesCommand } from '@aws-sdk/client-codepipeline';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import type { CallRecord, OperationRecord, RunningEmulator } from '../../emulator';
import { clients, control, stackSettled, startTestEmulator, type Clients } from './helpers';

const TOPIC = 'Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n';

describe('fault injection and the control API', () => {
  let emulator: RunningEmulator;
  let aws: Clients;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    aws = clients(emulator.url);
  });
  afterAll(async () => {
    await emulator.close();
  });
  afterEach(async () => {
    await control(emulator.url, 'DELETE', '/faults');
  });

  it('throttles so that the SDK retries, and gives up after its attempts as it would on AWS', async () => {
    await control(emulator.url, 'POST', '/faults', { service: 'cloudformation', operation: 'ListStacks', error: { code: 'Throttling', message: 'Rate exceeded', status: 400 }, count: 2 });
    const out = await aws.cfn.send(new ListStacksCommand({}));
    expect(out.$metadata.attempts).toBe(3);

    await control(emulator.url, 'POST', '/faults', { service: 'cloudformation', operation: 'DescribeStacks', throttleRate: 1 });
    const error = await aws.cfn.send(new DescribeStacksCommand({})).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'Throttling', message: 'Rate exceeded', $metadata: { httpStatusCode: 400, attempts: 3 } });

    await control(emulator.url, 'POST', '/faults', { service: 'codepipeline', throttleRate: 1, seed: 7 });
    const cpError = await aws.cp.send(new ListPipelinesCommand({})).catch((e: unknown) => e);
    expect(cpError).toMatchObject({ name: 'ThrottlingException', $metadata: { attempts: 3 } });

    const calls = await control<{ calls: CallRecord[] }>(emulator.url, 'GET', '/calls?service=codepipeline&operation=ListPipelines');
    expect(calls.calls.map((c) => [c.status, c.errorCode])).toEqual([
      [400, 'ThrottlingException'],
      [400, 'ThrottlingException'],
      [400, 'ThrottlingException'],
    ]);
  });

  it('answers 5xx that the SDK retries, with reproducible random draws', async () => {
    await control(emulator.url, 'POST', '/faults', { service: 'cloudformation', operation: 'ListStacks', error: { code: 'InternalFailure', message: 'oops', status: 500 }, count: 1 });
    const out = await aws.cfn.send(new ListStacksCommand({}));
    expect(out.$metadata.attempts).toBe(2);

    const draw = async (): Promise<string[]> => {
      await control(emulator.url, 'DELETE', '/faults');
      await control(emulator.url, 'POST', '/faults', { service: 's3', operation: 'ListObjectsV2', serverErrorRate: 0.5, seed: 42 });
      const results: string[] = [];
      for (let i = 0; i < 12; i++) {
        const response = await fetch(`${emulator.url}/anything?list-type=2`);
        results.push(String(response.status));
      }
      return results;
    };
    const first = await draw();
    expect(await draw()).toEqual(first);
    expect(first.some((s) => s !== '404')).toBe(true);
    expect(first.some((s) => s === '404')).toBe(true);
  });

  it('adds latency', async () => {
    await control(emulator.url, 'POST', '/faults', { service: 'cloudformation', latencyMs: 250 });
    const started = Date.now();
    await aws.cfn.send(new ListStacksCommand({}));
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
  });

  it('creates once when a create whose response was lost is retried with the same token', async () => {
    await control(emulator.url, 'POST', '/faults', {
      service: 'cloudformation',
      operation: 'CreateStack',
      error: { code: 'ServiceUnavailable', message: 'Service is unable to handle request.', status: 503 },
      count: 1,
      when: 'after',
    });
    const out = await aws.cfn.send(new CreateStackCommand({ StackName: 'once', TemplateBody: TOPIC, ClientRequestToken: 'create-once' }));
    expect(out.$metadata.attempts).toBe(2);
    expect((await stackSettled(aws.cfn, 'once')).StackStatus).toBe('CREATE_COMPLETE');
    const { operations } = await control<{ operations: OperationRecord[] }>(emulator.url, 'GET', '/operations?target=once');
    expect(operations).toHaveLength(1);
    const { calls } = await control<{ calls: CallRecord[] }>(emulator.url, 'GET', '/calls?operation=CreateStack&target=once');
    expect(calls.map((c) => c.status)).toEqual([503, 200]);
    expect(calls[0].requestId).not.toBe(calls[1].requestId);

    // Without a token the retry meets the stack its lost first attempt created.
    await control(emulator.url, 'POST', '/faults', {
      service: 'cloudformation',
      operation: 'CreateStack',
      error: { code: 'ServiceUnavailable', message: 'Service is unable to handle request.', status: 503 },
      count: 1,
      when: 'after',
    });
    await expect(aws.cfn.send(new CreateStackCommand({ StackName: 'twice', TemplateBody: TOPIC }))).rejects.toMatchObject({
      name: 'AlreadyExistsException',
    });
  });

  it('serves S3 as the SDK uses it, streams (aws-chunked) included', async () => {
    await aws.s3.send(new CreateBucketCommand({ Bucket: 'plain' }));
    await aws.s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'a/b.txt', Body: 'hello', Metadata: { 'codepipeline-artifact-revision-summary': 'abc1234' } }));
    await aws.s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'a/stream.txt', Body: Readable.from([Buffer.from('stre'), Buffer.from('amed')]), ContentLength: 8 }));
    const got = await aws.s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'a/b.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello');
    expect(got.Metadata).toEqual({ 'codepipeline-artifact-revision-summary': 'abc1234' });
    const streamed = await aws.s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'a/stream.txt' }));
    expect(await streamed.Body?.transformToString()).toBe('streamed');
    const head = await aws.s3.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'a/b.txt' }));
    expect(head.ContentLength).toBe(5);
    const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: 'plain', Prefix: 'a/' }));
    expect(listed.Contents?.map((c) => c.Key)).toEqual(['a/b.txt', 'a/stream.txt']);
    await expect(aws.s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'missing' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    await expect(aws.s3.send(new GetObjectCommand({ Bucket: 'nobucket', Key: 'x' }))).rejects.toMatchObject({ name: 'NoSuchBucket' });
    await expect(aws.s3.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'missing' }))).rejects.toMatchObject({ name: 'NotFound', $metadata: { httpStatusCode: 404 } });

    await control(emulator.url, 'POST', '/faults', { service: 's3', operation: 'GetObject', throttleRate: 1 });
    await expect(aws.s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'a/b.txt' }))).rejects.toMatchObject({ name: 'SlowDown', $metadata: { attempts: 3 } });
  });

  it('logs every call with its time, target, status and request id; sets timing; resets', async () => {
    const timing = await control<Record<string, number>>(emulator.url, 'PUT', '/timing', { stackOperationMs: 50 });
    expect(timing.stackOperationMs).toBe(50);
    await expect(control(emulator.url, 'PUT', '/timing', { stackOperationMs: 'fast' })).rejects.toThrow(/400/);
    await aws.cfn.send(new CreateStackCommand({ StackName: 'logged', TemplateBody: TOPIC }));
    await expect(aws.cfn.send(new DescribeStacksCommand({ StackName: 'not-there' }))).rejects.toMatchObject({ name: 'ValidationError' });
    const { calls } = await control<{ calls: CallRecord[] }>(emulator.url, 'GET', '/calls?service=cloudformation');
    const create = calls.find((c) => c.operation === 'CreateStack' && c.target === 'logged');
    expect(create).toMatchObject({ service: 'cloudformation', status: 200, requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(Date.parse(create?.time as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(calls.find((c) => c.target === 'not-there')).toMatchObject({ status: 400, errorCode: 'ValidationError', operation: 'DescribeStacks' });

    const health = await control<{ status: string; stacks: number }>(emulator.url, 'GET', '/health');
    expect(health.status).toBe('ok');
    expect(health.stacks).toBeGreaterThan(0);
    await control(emulator.url, 'POST', '/reset');
    const after = await control<{ stacks: number; pipelines: number }>(emulator.url, 'GET', '/health');
    expect(after).toMatchObject({ stacks: 0, pipelines: 0 });
    expect((await aws.cfn.send(new DescribeStacksCommand({}))).Stacks).toEqual([]);
    expect((await control<{ calls: CallRecord[] }>(emulator.url, 'GET', '/calls?operation=CreateStack')).calls).toEqual([]);
    await expect(control(emulator.url, 'GET', '/nowhere')).rejects.toThrow(/404/);
  });
});
