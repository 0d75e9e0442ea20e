import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { policyFor, type EnvironmentPolicy, type PolicySettings } from '../common/policy';
import { createCloudFormationActivities } from './cloudformation';
import { createCodePipelineActivities } from './codepipeline';
import { createDriftActivities, createEnvironmentWorkflows } from './drift';
import type { PollTiming } from './poll';
import { createS3Activities } from './s3';

/** AWS clients by region; the worker builds them once and reuses them. */
export interface AwsClients {
  cloudFormation(region: string): CloudFormationClient;
  codePipeline(region: string): CodePipelineClient;
  s3(region: string): S3Client;
}

/** What the activities need from the worker. */
export interface ActivityDependencies {
  aws: AwsClients;
  policy: PolicySettings;
  /** Polling of the waiting activities. */
  timing: PollTiming;
  /** Region when the repo names none. */
  defaultRegion: string;
  /** Drift sweep: the Temporal client that lists, queries and signals environment workflows (else the activity context's own). */
  temporal?: Client;
  /** Drift sweep: environments checked at once (CFN_GITOPS_DRIFT_CONCURRENCY, default 8). */
  driftConcurrency?: number;
  /**
   * This installation's id (CFN_GITOPS_INSTALLATION): written on the stacks it creates and updates,
   * and a stack or pipeline tagged with another is refused. Undefined: neither written nor checked.
   */
  installation?: string;
}

/**
 * Every activity of the project, bound to its dependencies. Workflows proxy
 * `ReturnType<typeof createActivities>`; tests hand in clients pointed at the emulator.
 * @example const activities = createActivities({ aws, policy, timing: { minMs: 1000, maxMs: 15000 }, defaultRegion: 'us-east-1' });
 */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createCloudFormationActivities((region) => deps.aws.cloudFormation(region), deps.timing, { installation: deps.installation }),
    ...createCodePipelineActivities((region) => deps.aws.codePipeline(region), deps.timing, { installation: deps.installation }),
    ...createS3Activities((region) => deps.aws.s3(region)),
    ...createDriftActivities({
      cloudFormation: (region) => deps.aws.cloudFormation(region),
      codePipeline: (region) => deps.aws.codePipeline(region),
      workflows: deps.temporal ? createEnvironmentWorkflows(deps.temporal) : undefined,
      policy: deps.policy,
      timing: deps.timing,
      defaultRegion: deps.defaultRegion,
      concurrency: deps.driftConcurrency ?? 8,
    }),

    /** The orchestrator's policy for an environment and the region to use. */
    async getPolicy(input: { environment: string; repoProtected: boolean; region?: string }): Promise<EnvironmentPolicy & { region: string }> {
      return { ...policyFor(deps.policy, input.environment, input.repoProtected), region: input.region ?? deps.defaultRegion };
    },
  };
}

/** The activities as workflows see them. */
export type Activities = ReturnType<typeof createActivities>;
