import { BOOTSTRAP_BUCKET } from './bootstrap';
import type { Action, RepoSettings } from './types';

/** Task queue the worker polls unless CFN_GITOPS_TASK_QUEUE says otherwise. */
export const DEFAULT_TASK_QUEUE = 'cfn-gitops';
/** Stack name prefix unless `common/gitops.yaml` sets `stackPrefix`. */
export const DEFAULT_STACK_PREFIX = 'cfn-gitops-';
/**
 * Artifact bucket unless `common/gitops.yaml` sets `artifactBucket`: the bucket of the bootstrap
 * stack (`cfn-gitops bootstrap`) in the environment's region, which the worker looks up.
 */
export const DEFAULT_ARTIFACT_BUCKET = BOOTSTRAP_BUCKET;
/** Name of an environment's config file inside its folder. */
export const CONFIG_FILE = 'config.yaml';
/** Folder of shared templates and repo settings. */
export const COMMON_DIR = 'common';
export const PIPELINE_TEMPLATE = 'common/pipeline.yaml';
export const ENVIRONMENT_TEMPLATE = 'common/environment.yaml';
export const REPO_SETTINGS_FILE = 'common/gitops.yaml';
/** Workflow id of the drift sweep started by the schedule and by `cfn-gitops drift`. */
export const DRIFT_SCHEDULE_ID = 'cfn-gitops-drift-sweep';

/**
 * Environment folder names become stack and pipeline names, so they follow CloudFormation's
 * stack name rule (letters, digits, hyphens; a letter first).
 */
export const ENVIRONMENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;

/** {@link ENVIRONMENT_NAME_PATTERN} in words, for messages. */
export const ENVIRONMENT_NAME_RULE = 'letters, digits and hyphens, starting with a letter, at most 64 characters';

/**
 * A name or path quoted so that it prints on one line and cannot steer a terminal: JSON's
 * quoting, plus escapes for DEL, the C1 controls and the Unicode line separators, which JSON
 * leaves as they are.
 * @example quoteName('a\nb') // '"a\\nb"'
 */
export function quoteName(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A name as it is when it is plain (ASCII letters, digits, `.`, `_`, `-`, `/`), else {@link quoteName}d:
 * tables stay tables whatever bytes a folder name holds.
 * @example printableName('prod') // 'prod'
 * @example printableName('café') // '"café"'
 */
export function printableName(text: string): string {
  return /^[\w./-]+$/.test(text) ? text : quoteName(text);
}

/**
 * Why `name` cannot be an environment, with the rule and the fix; undefined when it can. Every
 * command that takes an environment asks this first: the name becomes a folder path, a
 * workflow id and stack names.
 * @example environmentNameProblem('../x') // '"../x" is not an environment name: …'
 */
export function environmentNameProblem(name: string): string | undefined {
  if (ENVIRONMENT_NAME_PATTERN.test(name)) return undefined;
  return `${quoteName(name)} is not an environment name: an environment is a top-level folder of the GitOps repo named with ${ENVIRONMENT_NAME_RULE}; give one such folder's name, e.g. prod`;
}

/**
 * The environment workflow's id: Temporal's id uniqueness makes it the environment's lock.
 * @example environmentWorkflowId('prod') // 'cfn-gitops/prod'
 */
export function environmentWorkflowId(environment: string): string {
  return `cfn-gitops/${environment}`;
}

/** The environment a workflow id belongs to, or undefined for other ids. */
export function environmentFromWorkflowId(workflowId: string): string | undefined {
  const match = /^cfn-gitops\/([^/]+)$/.exec(workflowId);
  return match?.[1];
}

/**
 * One deployment's child workflow id; stable for a desired state, so a retried start cannot
 * run it twice.
 * @example deploymentWorkflowId('prod', 'sync', 'abc1234def', 3) // 'cfn-gitops/prod/3-sync-abc1234def'
 */
export function deploymentWorkflowId(environment: string, action: Action, commit: string, number: number): string {
  return `cfn-gitops/${environment}/${number}-${action}-${commit.slice(0, 12)}`;
}

/** Stack that holds the environment's CodePipeline. */
export function pipelineStackName(settings: Pick<RepoSettings, 'stackPrefix'>, environment: string): string {
  return `${settings.stackPrefix}${environment}-pipeline`;
}

/** Stack the pipeline deploys from `common/environment.yaml`. */
export function environmentStackName(settings: Pick<RepoSettings, 'stackPrefix'>, environment: string): string {
  return `${settings.stackPrefix}${environment}`;
}

/** The CodePipeline's name. */
export function pipelineName(settings: Pick<RepoSettings, 'stackPrefix'>, environment: string): string {
  return `${settings.stackPrefix}${environment}`;
}

/** S3 key of the zipped environment template the pipeline's Source stage reads. */
export function sourceObjectKey(environment: string): string {
  return `cfn-gitops/${environment}/source.zip`;
}

/** The environment a stack name belongs to under a prefix, or undefined. */
export function environmentFromStackName(prefix: string, stackName: string): string | undefined {
  if (!stackName.startsWith(prefix)) return undefined;
  const rest = stackName.slice(prefix.length).replace(/-pipeline$/, '');
  return ENVIRONMENT_NAME_PATTERN.test(rest) ? rest : undefined;
}

/** First 7 characters of a SHA, as git shows it. */
export function shortSha(sha: string): string {
  return sha.slice(0, 7);
}

/**
 * The one-line summary the Temporal UI shows for a deployment.
 * @example deploymentSummary('prod', 'sync', '1.4.2', 'abc1234ef') // 'prod ← app 1.4.2 (abc1234)'
 */
export function deploymentSummary(environment: string, action: Action, appVersion: string | undefined, commit: string): string {
  return action === 'delete'
    ? `${environment} ✕ delete (${shortSha(commit)})`
    : `${environment} ← app ${appVersion ?? '?'} (${shortSha(commit)})`;
}

/**
 * Parameters of `common/pipeline.yaml` that cfn-gitops passes itself (see the workflow's
 * `stackChange`): they name the environment's stacks and pipeline and carry its version, so a
 * config may not set them.
 */
export const ORCHESTRATOR_PARAMETERS = [
  'EnvironmentName',
  'PipelineName',
  'EnvironmentStackName',
  'AppVersion',
  'ArtifactBucket',
  'ArtifactSourceBucket',
  'ArtifactKey',
  'ArtifactImage',
] as const;

/** CodePipeline's limit on a pipeline name (`PipelineName` in its service model). */
export const PIPELINE_NAME_MAX_LENGTH = 100;

/** One name an environment owns in AWS. */
export interface DerivedName {
  kind: 'environment stack' | 'pipeline stack' | 'pipeline';
  name: string;
}

/**
 * Every name an environment owns in AWS under a repo's settings: the stacks and the pipeline
 * that cfn-gitops creates, updates and deletes for it, and nothing else.
 * @example derivedNames({ stackPrefix: 'cfn-gitops-' }, 'prod').map((n) => n.name) // ['cfn-gitops-prod', 'cfn-gitops-prod-pipeline', 'cfn-gitops-prod']
 */
export function derivedNames(settings: Pick<RepoSettings, 'stackPrefix'>, environment: string): DerivedName[] {
  return [
    { kind: 'environment stack', name: environmentStackName(settings, environment) },
    { kind: 'pipeline stack', name: pipelineStackName(settings, environment) },
    { kind: 'pipeline', name: pipelineName(settings, environment) },
  ];
}
