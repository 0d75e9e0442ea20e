import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
  UpdateStackCommand,
  waitUntilStackCreateComplete,
  waitUntilStackDeleteComplete,
  waitUntilStackUpdateComplete,
  type Parameter,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { z } from 'zod';
import { BOOTSTRAP_BUCKET_OUTPUT, BOOTSTRAP_STACK_NAME, BOOTSTRAP_TEMPLATE } from '../common/bootstrap';
import { UsageError } from '../common/errors';
import { ExitCode, type Output } from './start-command';

/** What `cfn-gitops bootstrap` did to the stack. */
export type BootstrapStatus = 'created' | 'updated' | 'unchanged';

/** The outcome of `cfn-gitops bootstrap`, also its `--json` document. */
export interface BootstrapResult {
  stackName: string;
  /** The artifact bucket the stack holds (its output). */
  bucket: string;
  region: string;
  status: BootstrapStatus;
}

/** How the SDK waiters poll the stack, in seconds. */
export interface WaitTiming {
  /** First delay between polls; it grows to `maxDelay`. */
  minDelay: number;
  maxDelay: number;
  /** Gives up after this long. */
  maxWaitTime: number;
}

/** Polls soon (a bucket takes seconds), then no more than every 15 s, for at most 30 minutes. */
const DEFAULT_WAIT: WaitTiming = { minDelay: 1, maxDelay: 15, maxWaitTime: 1_800 };

/** Thrown by {@link bootstrap} when the stack cannot be brought to its desired state; the CLI exits 1. */
export class BootstrapError extends Error {
  override readonly name = 'BootstrapError';
  constructor(
    readonly region: string,
    /** The stack's status when it gave up, if the stack exists. */
    readonly status: string | undefined,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`bootstrap stack ${BOOTSTRAP_STACK_NAME} in ${region}: ${reason}`, options);
  }
}

/** Flags of `cfn-gitops bootstrap`, checked at the edge. */
const flagsSchema = z.object({
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, '--region looks like eu-west-1')
    .optional(),
  bucketName: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, '--bucket-name is an S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit')
    .refine((name) => !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name), '--bucket-name may not hold ".." or look like an IP address')
    .optional(),
  json: z.boolean().optional(),
});

/** Flags of `cfn-gitops bootstrap`. */
export type BootstrapFlags = z.input<typeof flagsSchema>;

function isMissingStack(error: unknown): boolean {
  const err = error as { name?: string; message?: string };
  return err?.name === 'ValidationError' && /does not exist/.test(err.message ?? '');
}

async function describe(client: CloudFormationClient): Promise<Stack | undefined> {
  try {
    const stack = (await client.send(new DescribeStacksCommand({ StackName: BOOTSTRAP_STACK_NAME }))).Stacks?.[0];
    return stack?.StackStatus === 'DELETE_COMPLETE' ? undefined : stack;
  } catch (error) {
    if (isMissingStack(error)) return undefined;
    throw error;
  }
}

/** Reasons of the failed resources of the stack's latest operation, oldest first. */
async function failureReasons(client: CloudFormationClient): Promise<string[]> {
  const events = await client.send(new DescribeStackEventsCommand({ StackName: BOOTSTRAP_STACK_NAME })).then(
    (out) => out.StackEvents ?? [],
    () => [],
  );
  const reasons: string[] = [];
  for (const event of events) {
    const status = event.ResourceStatus ?? '';
    if (event.LogicalResourceId === BOOTSTRAP_STACK_NAME && /_IN_PROGRESS$/.test(status) && !/ROLLBACK|CLEANUP/.test(status)) break;
    if (/FAILED$/.test(status) && event.ResourceStatusReason && event.LogicalResourceId !== BOOTSTRAP_STACK_NAME) {
      reasons.unshift(`${event.LogicalResourceId} (${event.ResourceType}) ${status}: ${event.ResourceStatusReason}`);
    }
  }
  return reasons;
}

/** Waits with the SDK waiter for `operation`; a stack that ends otherwise fails with what failed. */
async function waitFor(client: CloudFormationClient, region: string, operation: 'create' | 'update' | 'delete', timing: WaitTiming): Promise<void> {
  const waiter = { create: waitUntilStackCreateComplete, update: waitUntilStackUpdateComplete, delete: waitUntilStackDeleteComplete }[operation];
  try {
    await waiter({ client, ...timing }, { StackName: BOOTSTRAP_STACK_NAME });
  } catch (error) {
    const stack = await describe(client).catch(() => undefined);
    const timedOut = (error as Error).name === 'TimeoutError';
    const reasons = timedOut ? [] : await failureReasons(client);
    const status = stack?.StackStatus;
    const what = timedOut ? `still ${status ?? 'running'} after ${Math.round(timing.maxWaitTime / 60)} minutes` : `the ${operation} ended in ${status ?? 'no stack'}`;
    const why = reasons.length ? reasons.join('; ') : (stack?.StackStatusReason ?? '');
    throw new BootstrapError(region, status, `${what}${why ? `: ${why}` : ''}; see its events in the CloudFormation console`, { cause: error });
  }
}

/** The operation a stack in `status` is busy with, if any. */
function busyWith(status: string): 'create' | 'update' | 'delete' | undefined {
  if (!/_IN_PROGRESS$/.test(status) || status === 'REVIEW_IN_PROGRESS') return undefined;
  if (status.startsWith('CREATE_') || status === 'ROLLBACK_IN_PROGRESS') return 'create';
  if (status.startsWith('DELETE_')) return 'delete';
  return 'update';
}

/**
 * Creates or updates the bootstrap stack (the artifact bucket, see `common/bootstrap.ts`) in the
 * client's region and waits for it. Idempotent: when the stack already holds this template
 * (and the bucket name asked for), nothing is called that changes it and the status is
 * `unchanged`. Without `bucketName`, an existing stack keeps its bucket.
 * @throws BootstrapError when the stack ends in a failed state or cannot be updated.
 * @example const result = await bootstrap({ cloudFormation: new CloudFormationClient({ region: 'eu-west-1' }), region: 'eu-west-1' });
 */
export async function bootstrap(input: { cloudFormation: CloudFormationClient; region: string; bucketName?: string; wait?: Partial<WaitTiming> }): Promise<BootstrapResult> {
  const { cloudFormation: client, region, bucketName } = input;
  const timing = { ...DEFAULT_WAIT, ...input.wait };
  let stack = await describe(client);

  // Someone else's operation first: wait for it, then look again.
  const busy = stack && busyWith(stack.StackStatus ?? '');
  if (busy) {
    await waitFor(client, region, busy, timing).catch((error: unknown) => {
      // Its failure is not ours: the stack's state below decides what to do.
      if (!(error instanceof BootstrapError)) throw error;
    });
    stack = await describe(client);
  }
  // A create that failed leaves a stack that can only be deleted (its bucket is retained).
  if (stack && (stack.StackStatus === 'ROLLBACK_COMPLETE' || stack.StackStatus === 'REVIEW_IN_PROGRESS')) {
    await client.send(new DeleteStackCommand({ StackName: BOOTSTRAP_STACK_NAME }));
    await waitFor(client, region, 'delete', timing);
    stack = undefined;
  }

  let status: BootstrapStatus;
  if (!stack) {
    await client.send(
      new CreateStackCommand({
        StackName: BOOTSTRAP_STACK_NAME,
        TemplateBody: BOOTSTRAP_TEMPLATE,
        Parameters: [{ ParameterKey: 'BucketName', ParameterValue: bucketName ?? '' }],
      }),
    );
    await waitFor(client, region, 'create', timing);
    status = 'created';
  } else {
    if (/FAILED$/.test(stack.StackStatus ?? '')) {
      throw new BootstrapError(region, stack.StackStatus, `it is ${stack.StackStatus}${stack.StackStatusReason ? ` (${stack.StackStatusReason})` : ''}; repair or delete it in the CloudFormation console, then run cfn-gitops bootstrap again`);
    }
    const current = (await client.send(new GetTemplateCommand({ StackName: BOOTSTRAP_STACK_NAME, TemplateStage: 'Original' }))).TemplateBody;
    const currentName = stack.Parameters?.find((p) => p.ParameterKey === 'BucketName')?.ParameterValue;
    const sameName = bucketName === undefined || bucketName === currentName;
    status = current?.trim() === BOOTSTRAP_TEMPLATE.trim() && sameName ? 'unchanged' : await update(client, region, bucketName, currentName, timing);
    if (status === 'updated') stack = undefined;
  }

  const final = stack ?? (await describe(client));
  const bucket = final?.Outputs?.find((o) => o.OutputKey === BOOTSTRAP_BUCKET_OUTPUT)?.OutputValue;
  if (!bucket) throw new BootstrapError(region, final?.StackStatus, `the stack has no ${BOOTSTRAP_BUCKET_OUTPUT} output; delete it and run cfn-gitops bootstrap again`);
  return { stackName: BOOTSTRAP_STACK_NAME, bucket, region, status };
}

/** UpdateStack to this template; `unchanged` when CloudFormation finds nothing to do. */
async function update(client: CloudFormationClient, region: string, bucketName: string | undefined, currentName: string | undefined, timing: WaitTiming): Promise<BootstrapStatus> {
  // Without --bucket-name the bucket stays the one the stack has (a template from before the parameter had none).
  const parameter: Parameter =
    bucketName !== undefined ? { ParameterKey: 'BucketName', ParameterValue: bucketName } : currentName !== undefined ? { ParameterKey: 'BucketName', UsePreviousValue: true } : { ParameterKey: 'BucketName', ParameterValue: '' };
  try {
    await client.send(new UpdateStackCommand({ StackName: BOOTSTRAP_STACK_NAME, TemplateBody: BOOTSTRAP_TEMPLATE, Parameters: [parameter] }));
  } catch (error) {
    const err = error as { name?: string; message?: string };
    if (err.name === 'ValidationError' && /No updates are to be performed/.test(err.message ?? '')) return 'unchanged';
    throw error;
  }
  await waitFor(client, region, 'update', timing);
  return 'updated';
}

/**
 * `cfn-gitops bootstrap`: creates or updates the bootstrap stack with the standard credential
 * chain (and AWS_ENDPOINT_URL), prints what it did, and exits 0.
 * @throws UsageError (exit 2) for a bad flag or no region; BootstrapError (exit 1).
 * @example await bootstrapCommand({ region: 'eu-west-1', json: true }, output)
 */
export async function bootstrapCommand(flags: BootstrapFlags, output: Output): Promise<number> {
  const parsed = flagsSchema.safeParse(flags);
  if (!parsed.success) throw new UsageError(`bootstrap: ${parsed.error.issues[0]!.message}`);
  const { region: asked, bucketName, json } = parsed.data;
  const client = new CloudFormationClient(asked ? { region: asked } : {});
  try {
    const region = await client.config.region().catch(() => undefined);
    if (!region) throw new UsageError('bootstrap: no region: pass --region (e.g. --region eu-west-1) or set AWS_REGION');
    const result = await bootstrap({ cloudFormation: client, region, bucketName });
    const said = { created: 'created', updated: 'updated', unchanged: 'already up to date; nothing changed' }[result.status];
    output.out(json ? JSON.stringify(result) : `${result.stackName} in ${result.region}: ${said}\nartifact bucket: ${result.bucket} (used when common/gitops.yaml names no artifactBucket)`);
    return ExitCode.Ok;
  } finally {
    client.destroy();
  }
}
