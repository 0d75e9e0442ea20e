/** The orchestrator's rules for one environment, decided by the worker's settings (never by the repo alone). */
export interface EnvironmentPolicy {
  /** A sync or delete waits for a person's approval before it touches AWS. */
  protected: boolean;
  /** How long an approval may wait before the request expires. */
  approvalWindowMs: number;
  /** May the change's author, committer or pusher approve it? */
  allowSelfApproval: boolean;
  /** Re-deploy git's version when the drift sweep finds the environment OutOfSync. */
  selfHeal: boolean;
}

/** Orchestrator-wide policy settings, from the worker's environment variables. */
export interface PolicySettings {
  /** Environments that always need approval (CFN_GITOPS_PROTECTED_ENVIRONMENTS, default `prod`). */
  protectedEnvironments: string[];
  /** CFN_GITOPS_APPROVAL_WINDOW, default 7 days. */
  approvalWindowMs: number;
  /** CFN_GITOPS_ALLOW_SELF_APPROVAL, default false: the change's author, committer and pusher may not approve it. */
  allowSelfApproval: boolean;
  /** CFN_GITOPS_SELF_HEAL_ENVIRONMENTS: names, or `*` for every environment. */
  selfHealEnvironments: string[];
}

/**
 * The policy for an environment: the repo may add protection, never remove it.
 * @example policyFor(settings, 'prod', false).protected // true with the defaults
 */
export function policyFor(settings: PolicySettings, environment: string, repoProtected: boolean): EnvironmentPolicy {
  const listed = (names: string[]) => names.includes(environment) || names.includes('*');
  return {
    protected: repoProtected || listed(settings.protectedEnvironments),
    approvalWindowMs: settings.approvalWindowMs,
    allowSelfApproval: settings.allowSelfApproval,
    selfHeal: listed(settings.selfHealEnvironments),
  };
}
