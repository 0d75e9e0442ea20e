/** The service an AWS call went to. */
export type ServiceName = 'cloudformation' | 'codepipeline' | 's3';

/**
 * An error as an AWS service returns it: a code, a message and an HTTP status. Thrown by the
 * service handlers and the fault injector; the server renders it in the service's wire format.
 */
export class AwsError extends Error {
  override readonly name = 'AwsError';
  constructor(
    /** The error code the SDK maps to an exception class, e.g. `ValidationError`. */
    readonly code: string,
    message: string,
    /** The HTTP status of the response. */
    readonly status = 400,
    /** Extra fields of the error body (S3 `Key`, `BucketName`, ...). */
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }

  /** `Sender` for 4xx, `Receiver` for 5xx, as the query protocol's `<Type>` says. */
  get faultType(): 'Sender' | 'Receiver' {
    return this.status >= 500 ? 'Receiver' : 'Sender';
  }
}

/** The CloudFormation `ValidationError` (HTTP 400) most failed calls end in. */
export function validationError(message: string): AwsError {
  return new AwsError('ValidationError', message, 400);
}
