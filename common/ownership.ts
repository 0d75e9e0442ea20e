/**
 * An environment owns its derived names: a stack or pipeline under such a name is touched only
 * when its tags say cfn-gitops made it for that environment (and, once it says so, for this
 * installation). Pure: the activities read the tags and hand them in.
 */

/** Tag every stack cfn-gitops creates carries: the environment it belongs to. */
export const ENVIRONMENT_TAG = 'cfn-gitops:environment';
/** Tag naming the cfn-gitops installation (worker setting) that creates and updates the stack. */
export const INSTALLATION_TAG = 'cfn-gitops:installation';
/** Parameter every pipeline passes to the environment stack it deploys. */
export const ENVIRONMENT_PARAMETER = 'EnvironmentName';

/** What is known about a stack or pipeline before cfn-gitops touches it. */
export interface OwnershipInput {
  environment: string;
  /** The AWS call that would touch it, e.g. `UpdateStack`. */
  call: string;
  kind: 'stack' | 'pipeline';
  name: string;
  tags: Record<string, string>;
  /** This installation's id; undefined: installation tags are neither written nor checked. */
  installation?: string;
  /**
   * Stack parameters. When given, a stack without an environment tag whose `EnvironmentName`
   * equals the environment is accepted: the environment stack is created by the pipeline's
   * deploy action, which sets no stack tags of its own.
   */
  parameters?: Record<string, string>;
}

/** Why a stack or pipeline is not the environment's, or undefined when it is. */
export function ownershipProblem(input: OwnershipInput): string | undefined {
  const { environment, tags, installation } = input;
  const found = tags[ENVIRONMENT_TAG];
  const byParameter = found === undefined && input.parameters?.[ENVIRONMENT_PARAMETER] === environment;
  if (found !== environment && !byParameter) {
    const what = found === undefined ? `it carries no ${ENVIRONMENT_TAG} tag` : `its tag ${ENVIRONMENT_TAG} is "${found}"`;
    return `this ${input.kind} was not created by cfn-gitops for ${environment} (${what}): rename the environment or remove the ${input.kind}`;
  }
  const theirs = otherInstallation(tags, installation);
  if (theirs !== undefined) {
    return (
      `this ${input.kind} belongs to another cfn-gitops installation (tag ${INSTALLATION_TAG} is "${theirs}", this worker is "${installation}"): ` +
      `deploy ${environment} from that installation, or set CFN_GITOPS_INSTALLATION=${theirs} on this worker if it takes that installation over`
    );
  }
  return undefined;
}

/**
 * The installation the tags name when it is not this one, else undefined. Stacks made before
 * installations were tagged carry none: the environment tag alone vouches for them.
 */
export function otherInstallation(tags: Record<string, string>, installation: string | undefined): string | undefined {
  const theirs = tags[INSTALLATION_TAG];
  return installation !== undefined && theirs !== undefined && theirs !== installation ? theirs : undefined;
}

/**
 * The message of a refusal: environment, call, target and the fix.
 * @example notOwnedMessage({ environment: 'prod', call: 'UpdateStack', kind: 'stack', name: 'cfn-gitops-prod-pipeline', tags: {} }, reason)
 */
export function notOwnedMessage(input: OwnershipInput, problem: string): string {
  return `${input.environment}: ${input.call} ${input.name} refused: ${problem}`;
}

/**
 * The tags a create or update writes: the stack's own tags kept, ours set. Keys under `aws:`
 * are AWS's own and cannot be written.
 */
export function ownedTags(environment: string, installation: string | undefined, existing: Record<string, string> = {}): { Key: string; Value: string }[] {
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(existing)) if (!key.startsWith('aws:')) tags[key] = value;
  tags[ENVIRONMENT_TAG] = environment;
  if (installation !== undefined) tags[INSTALLATION_TAG] = installation;
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
