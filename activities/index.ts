import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { policyFor, type EnvironmentPolicy, type PolicySettings } from '../common/policy';
import { createArtifactBuckets } from './artifact-bucket';
import { stackReady } from '../common/stack-status';
import { createCloudFormationActivities, type StackChange, type StackInspection } from './cloudformation';
import { createCodePipelineActivities } from './codepipeline';
import { createDriftActivities, createEnvironmentWorkflows } from './drift';
import type { PollTiming } from './poll';
import { createRolloutActivities } from './rollout';
import { createS3Activities, type SourceInput } from './s3';
import { createTemplateStore } from './templates';
import type { StoreTemplatesInput, TemplateRef } from '../common/templates';

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
  // One lookup of each region's bootstrap bucket, shared by the S3 upload and the ArtifactBucket parameter.
  const artifactBuckets = createArtifactBuckets((region) => deps.aws.cloudFormation(region));
  // Templates stored by hash, read once per worker and shared by the stack changes and the source upload.
  const templates = createTemplateStore((region) => deps.aws.s3(region), artifactBuckets);
  const cloudFormation = createCloudFormationActivities((region) => deps.aws.cloudFormation(region), deps.timing, { installation: deps.installation, artifactBuckets, templates });
  const codePipeline = createCodePipelineActivities((region) => deps.aws.codePipeline(region), deps.timing, { installation: deps.installation });
  const s3 = createS3Activities((region) => deps.aws.s3(region), artifactBuckets, templates);
  return {
    ...cloudFormation,
    ...codePipeline,
    ...s3,

    /**
     * The common sync in one activity (one task instead of three, each call idempotent): publish
     * the environment template, inspect the pipeline stack and, when it stands ready and needs no
     * update, start the execution with the same token a separate start would use. Anything else
     * (absent, busy, failed, changed) is left to the workflow with the inspection it needs.
     */
    async beginSync(
      input: { change: StackChange; bucket: string; pipelineName: string; appVersion: string } & Pick<SourceInput, 'environmentTemplate' | 'environmentTemplateRef'>,
    ): Promise<{ inspection: StackInspection; executionId?: string }> {
      const { change } = input;
      await s3.publishSource({
        environment: change.environment,
        region: change.region,
        bucket: input.bucket,
        environmentTemplate: input.environmentTemplate,
        environmentTemplateRef: input.environmentTemplateRef,
      });
      const inspection = await cloudFormation.inspectStack(change);
      if (!inspection.stack || inspection.needsUpdate || !stackReady(inspection.stack.status)) return { inspection };
      const executionId = await codePipeline.startPipelineExecution({ environment: change.environment, region: change.region, pipelineName: input.pipelineName, appVersion: input.appVersion, requestKey: change.requestKey });
      return { inspection, executionId };
    },
    ...createRolloutActivities({ temporal: deps.temporal }),
    ...createDriftActivities({
      cloudFormation: (region) => deps.aws.cloudFormation(region),
      codePipeline: (region) => deps.aws.codePipeline(region),
      workflows: deps.temporal ? createEnvironmentWorkflows(deps.temporal) : undefined,
      policy: deps.policy,
      timing: deps.timing,
      defaultRegion: deps.defaultRegion,
      concurrency: deps.driftConcurrency ?? 8,
      installation: deps.installation,
    }),

    /**
     * Stores a push's templates by hash in the artifact bucket (those already there are left),
     * so that desired states carry only the hashes. Run by the template store workflow.
     */
    async storeTemplates(input: StoreTemplatesInput): Promise<TemplateRef[]> {
      return templates.put('common/ templates', { ...input, region: input.region ?? deps.defaultRegion });
    },

    /** The orchestrator's policy for an environment and the region to use. */
    async getPolicy(input: { environment: string; repoProtected: boolean; region?: string }): Promise<EnvironmentPolicy & { region: string }> {
      return { ...policyFor(deps.policy, input.environment, input.repoProtected), region: input.region ?? deps.defaultRegion };
    },
  };
}

/** The activities as workflows see them. */
export type Activities = ReturnType<typeof createActivities>;
