import { windowsFor, type FreezeWindow } from './freeze';
import { matchesAny, matchesPattern } from './patterns';

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
  /**
   * Approvals from distinct people a protected environment's change needs (at least 1; absent in
   * policies recorded before it existed, which is 1).
   */
  requiredApprovals?: number;
  /**
   * The freeze windows (CFN_GITOPS_FREEZE) that name the environment and have not ended: the
   * workflow holds a deployment in one with phase Frozen. Absent when there are none.
   */
  freezes?: FreezeWindow[];
}

/** How many approvals the environments a pattern matches need (CFN_GITOPS_REQUIRED_APPROVALS `prod=2`). */
export interface ApprovalRule {
  pattern: string;
  count: number;
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
  /** CFN_GITOPS_REQUIRED_APPROVALS: `pattern=count` pairs; an environment one matches is protected and needs that many approvals (the most of those that match). */
  requiredApprovals?: ApprovalRule[];
  /** CFN_GITOPS_FREEZE: windows in which no deployment of the environments they name starts. */
  freezeWindows?: FreezeWindow[];
}

/**
 * The policy for an environment: the repo may add protection, never remove it.
 * @example policyFor(settings, 'prod', false).protected // true with the defaults
 */
export function policyFor(settings: PolicySettings, environment: string, repoProtected: boolean, now = new Date()): EnvironmentPolicy {
  const freezes = windowsFor(settings.freezeWindows ?? [], environment, now);
  const rules = (settings.requiredApprovals ?? []).filter((rule) => matchesPattern(environment, rule.pattern));
  const requiredApprovals = Math.max(1, ...rules.map((rule) => rule.count));
  return {
    protected: repoProtected || matchesAny(environment, settings.protectedEnvironments) || rules.length > 0,
    approvalWindowMs: settings.approvalWindowMs,
    allowSelfApproval: settings.allowSelfApproval,
    selfHeal: matchesAny(environment, settings.selfHealEnvironments),
    ...(requiredApprovals > 1 ? { requiredApprovals } : {}),
    ...(freezes.length ? { freezes } : {}),
  };
}

/**
 * Parses CFN_GITOPS_REQUIRED_APPROVALS: `prod=2,staging*=2`.
 * @throws Error naming the item and the form it takes.
 */
export function parseApprovalRules(value: string): ApprovalRule[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      const match = /^([A-Za-z0-9*?-]+)=(\d+)$/.exec(item);
      const count = match ? Number(match[2]) : NaN;
      if (!match || count < 1 || count > 10) {
        throw new Error(`"${item}" is not an approval rule: write pattern=count, e.g. prod=2 or "feature*=1", with a count from 1 to 10`);
      }
      return { pattern: match[1]!, count };
    });
}
