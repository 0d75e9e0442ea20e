/**
 * Failure types that cross the activity boundary as `ApplicationFailure.type`. Workflows branch
 * on these, never on message text. Retryable ones are left to the retry policy.
 */
export const ErrorType = {
  /** AWS asked us to slow down (Throttling, TooManyRequests, RequestLimitExceeded). Retryable. */
  Throttled: 'AwsThrottled',
  /** AWS or the network failed transiently (5xx, timeouts, resets). Retryable. */
  Unavailable: 'AwsUnavailable',
  /** A stack is busy with another operation; wait and retry. Retryable. */
  StackBusy: 'StackBusy',
  /** The template or its parameters were refused (ValidationError). Not retryable. */
  InvalidTemplate: 'InvalidTemplate',
  /** Credentials or permissions refused the call. Not retryable. */
  AccessDenied: 'AccessDenied',
  /** A stack operation ended in a failed or rolled-back state. Not retryable. */
  StackFailed: 'StackFailed',
  /** A pipeline execution failed, was stopped or superseded by someone else. Not retryable. */
  PipelineFailed: 'PipelineFailed',
  /** The pipeline stack exists but its pipeline cannot be found. Not retryable. */
  PipelineMissing: 'PipelineMissing',
  /**
   * The stack or pipeline under an environment's derived name was not created by cfn-gitops for
   * that environment (or by another installation), so it is not touched. Not retryable.
   */
  NotOwned: 'NotOwned',
  /**
   * The artifact bucket is not there: no bootstrap stack in the region, or S3 says NoSuchBucket;
   * the message names `cfn-gitops bootstrap`. Not retryable (the failure itself says so).
   */
  ArtifactBucketMissing: 'ArtifactBucketMissing',
  /**
   * A template stored by hash is not in the artifact bucket, or its bytes do not match the hash:
   * the message says to run `cfn-gitops start` for the push again, which stores it. Not retryable.
   */
  TemplateMissing: 'TemplateMissing',
  /** Any other AWS error. Not retryable. */
  AwsError: 'AwsError',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/**
 * A wait's poll found the operation still running: the activity's retry policy is the poll
 * interval (the failure carries the next delay), so nothing is held while it sleeps. Retryable.
 */
export const WAITING = 'StillWaiting';

/** Error types the retry policy must not retry. */
export const NON_RETRYABLE_ERROR_TYPES: string[] = [
  ErrorType.InvalidTemplate,
  ErrorType.AccessDenied,
  ErrorType.StackFailed,
  ErrorType.PipelineFailed,
  ErrorType.PipelineMissing,
  ErrorType.NotOwned,
  ErrorType.TemplateMissing,
  ErrorType.AwsError,
];

/** Thrown by the config parser and the planner for a config file users must fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    /** Path inside the GitOps repo, e.g. `prod/config.yaml`. */
    readonly file: string,
    /** 1-based line of the offending node, when known. */
    readonly line: number | undefined,
    /** Environment the file belongs to; undefined for `common/` files. */
    readonly environment: string | undefined,
    /** What is wrong and how to fix it. */
    readonly reason: string,
  ) {
    super(`${file}${line ? `:${line}` : ''}: ${reason}`);
  }
}

/** Thrown by `parseFreezeWindows` for a window that does not read: which one, which field, and the fix. */
export class FreezeWindowError extends Error {
  override readonly name = 'FreezeWindowError';
  constructor(
    /** Where the windows come from, e.g. `CFN_GITOPS_FREEZE`. */
    readonly source: string,
    /** 0-based index of the window; undefined when the list itself is wrong. */
    readonly index: number | undefined,
    /** The window's field at fault (`start`, `cron`), when one is. */
    readonly field: string | undefined,
    /** What is wrong and how to fix it. */
    readonly problem: string,
  ) {
    super(`${index === undefined ? source : `${source}[${index}]`}: ${problem}`);
  }
}

/** Thrown by the starter's git shell when the repo or a commit cannot be read. */
export class GitReadError extends Error {
  override readonly name = 'GitReadError';
  constructor(readonly repo: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`cannot read git repository ${repo}: ${reason}`, options);
  }
}

/** Thrown by CLI and API validation for bad usage; the CLI exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super(message);
  }
}
