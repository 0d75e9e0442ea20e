import { ApplicationFailure } from '@temporalio/activity';
import { ErrorType } from '../common/errors';

/** What a failed AWS call was about, for the message people read. */
export interface CallContext {
  environment: string;
  /** The AWS operation, e.g. `CreateStack`. */
  call: string;
  /** Stack or pipeline name. */
  target: string;
  /** What the user does when the target is missing (S3's NoSuchBucket), appended to AWS's reason. */
  whenMissing?: string;
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'SlowDown',
]);
const TRANSIENT = new Set(['InternalFailure', 'InternalError', 'ServiceUnavailable', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET']);
const ACCESS = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'InvalidClientTokenId', 'ExpiredToken', 'UnrecognizedClientException']);

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/**
 * CloudFormation reports a busy stack only as a ValidationError, so its wording is the one
 * signal there is: "Stack:arn... is in UPDATE_IN_PROGRESS state and can not be updated.", and
 * for a delete "Stack [arn...] cannot be deleted while in status UPDATE_IN_PROGRESS".
 */
const STACK_BUSY = /is in [A-Z_]+_IN_PROGRESS state|while in status [A-Z_]+_IN_PROGRESS/;

/** Did S3 answer that the object is not there (HeadObject says NotFound, GetObject NoSuchKey)? */
export function isMissingObject(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === 'NotFound' || name === 'NoSuchKey';
}

/** The error type an AWS SDK error belongs to. */
export function classifyAwsError(error: unknown): ErrorType {
  const err = error as AwsLikeError;
  const name = err?.name ?? '';
  const status = err?.$metadata?.httpStatusCode ?? 0;
  if (THROTTLING.has(name)) return ErrorType.Throttled;
  if (TRANSIENT.has(name) || status >= 500 || NETWORK.has(err?.code ?? '') || NETWORK.has(name)) return ErrorType.Unavailable;
  if (name === 'ValidationError' && STACK_BUSY.test(err?.message ?? '')) return ErrorType.StackBusy;
  if (name === 'NoSuchBucket') return ErrorType.ArtifactBucketMissing;
  if (name === 'ValidationError' || name === 'InsufficientCapabilitiesException' || name === 'InvalidParameterValue') return ErrorType.InvalidTemplate;
  if (ACCESS.has(name) || status === 403) return ErrorType.AccessDenied;
  return ErrorType.AwsError;
}

const RETRYABLE: ReadonlySet<string> = new Set([ErrorType.Throttled, ErrorType.Unavailable, ErrorType.StackBusy]);

/**
 * Turns an AWS SDK error into the ApplicationFailure workflows branch on: typed, retryable or
 * not, with a message naming the environment, the call, the target and AWS's reason.
 */
export function toApplicationFailure(error: unknown, context: CallContext): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  const err = error as AwsLikeError;
  const type = classifyAwsError(error);
  const reason = (err?.message || err?.name || String(error)) + (type === ErrorType.ArtifactBucketMissing && context.whenMissing ? `; ${context.whenMissing}` : '');
  return ApplicationFailure.create({
    type,
    nonRetryable: !RETRYABLE.has(type),
    message: `${context.environment}: ${context.call} ${context.target}: ${reason}`,
    details: [{ ...context, awsError: err?.name, requestId: err?.$metadata?.requestId, httpStatus: err?.$metadata?.httpStatusCode }],
    cause: error instanceof Error ? error : undefined,
  });
}

/** Runs one AWS call and converts its failure at the activity boundary. */
export async function awsCall<T>(context: CallContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toApplicationFailure(error, context);
  }
}
