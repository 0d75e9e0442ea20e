import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { S3Client } from '@aws-sdk/client-s3';
import type { AwsClients } from '../activities';

/** One attempt of one AWS call (each of the SDK's own retries is one), as it ended. */
export interface AwsAttempt {
  service: 'cloudformation' | 'codepipeline' | 's3';
  /** The API operation, e.g. `CreateStack`. */
  operation: string;
  /** What the attempt failed with: AWS's error, or the network's; absent when AWS answered. */
  error?: unknown;
}

/** What {@link createAwsClients} takes. */
export interface AwsClientOptions {
  /** AWS_ENDPOINT_URL: the local emulator, or absent for AWS. */
  endpointUrl?: string;
  /** Attempts per call, the SDK's own retries included (default 4). */
  maxAttempts?: number;
  /** Told of every attempt, after its answer is read: the worker's metrics count them. */
  onAttempt?: (attempt: AwsAttempt) => void;
}

type Client = CloudFormationClient | CodePipelineClient | S3Client;

/** The SDK's middleware, reduced to what counting attempts needs (the clients' stacks differ only in their input and output types). */
type Handler = (args: unknown) => Promise<unknown>;
interface AttemptStack {
  add(middleware: (next: Handler, context: { commandName?: string }) => Handler, options: { step: 'deserialize'; priority: 'high'; name: string }): void;
}

/**
 * Tells `onAttempt` of each attempt. The deserialize step runs once per attempt, inside the
 * SDK's retries; at high priority it wraps the deserializer, so it sees AWS's error by its name.
 */
function observeAttempts<T extends Client>(client: T, service: AwsAttempt['service'], onAttempt: AwsClientOptions['onAttempt']): T {
  if (!onAttempt) return client;
  (client.middlewareStack as unknown as AttemptStack).add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      try {
        const output = await next(args);
        onAttempt({ service, operation });
        return output;
      } catch (error) {
        onAttempt({ service, operation, error });
        throw error;
      }
    },
    { step: 'deserialize', priority: 'high', name: 'cfnGitopsAttempts' },
  );
  return client;
}

/**
 * Real AWS SDK clients, one per service and region, built on first use. The SDK reads the
 * standard credential chain and AWS_ENDPOINT_URL itself; S3 needs path-style addressing when
 * an endpoint such as the local emulator is set.
 */
export function createAwsClients(options: AwsClientOptions = {}): AwsClients & { destroy(): void } {
  const cache = new Map<string, Client>();
  const common = { maxAttempts: options.maxAttempts ?? 4, ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}) };
  function get<T extends Client>(key: string, make: () => T): T {
    let client = cache.get(key) as T | undefined;
    if (!client) {
      client = make();
      cache.set(key, client);
    }
    return client;
  }
  const { onAttempt } = options;
  return {
    cloudFormation: (region) => get(`cfn:${region}`, () => observeAttempts(new CloudFormationClient({ region, ...common }), 'cloudformation', onAttempt)),
    codePipeline: (region) => get(`cp:${region}`, () => observeAttempts(new CodePipelineClient({ region, ...common }), 'codepipeline', onAttempt)),
    s3: (region) => get(`s3:${region}`, () => observeAttempts(new S3Client({ region, ...common, forcePathStyle: Boolean(options.endpointUrl) }), 's3', onAttempt)),
    destroy: () => {
      for (const client of cache.values()) client.destroy();
      cache.clear();
    },
  };
}
