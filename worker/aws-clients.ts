import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { S3Client } from '@aws-sdk/client-s3';
import type { AwsClients } from '../activities';

/**
 * Real AWS SDK clients, one per service and region, built on first use. The SDK reads the
 * standard credential chain and AWS_ENDPOINT_URL itself; S3 needs path-style addressing when
 * an endpoint such as the local emulator is set.
 */
export function createAwsClients(options: { endpointUrl?: string; maxAttempts?: number } = {}): AwsClients & { destroy(): void } {
  const cache = new Map<string, CloudFormationClient | CodePipelineClient | S3Client>();
  const common = { maxAttempts: options.maxAttempts ?? 4, ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}) };
  function get<T extends CloudFormationClient | CodePipelineClient | S3Client>(key: string, make: () => T): T {
    let client = cache.get(key) as T | undefined;
    if (!client) {
      client = make();
      cache.set(key, client);
    }
    return client;
  }
  return {
    cloudFormation: (region) => get(`cfn:${region}`, () => new CloudFormationClient({ region, ...common })),
    codePipeline: (region) => get(`cp:${region}`, () => new CodePipelineClient({ region, ...common })),
    s3: (region) => get(`s3:${region}`, () => new S3Client({ region, ...common, forcePathStyle: Boolean(options.endpointUrl) })),
    destroy: () => {
      for (const client of cache.values()) client.destroy();
      cache.clear();
    },
  };
}
