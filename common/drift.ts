import type { SyncReport, SyncStatus } from './types';

/** What a sweep checks: every environment, or one. */
export interface DriftSweepInput {
  /** Only this environment. */
  environment?: string;
  /** Environments checked at once; the worker's CFN_GITOPS_DRIFT_CONCURRENCY when absent. */
  concurrency?: number;
}

/** One environment's line in the sweep's result. */
export interface DriftEntry extends SyncReport {
  environment: string;
  /** The environment workflow that was told; absent for stacks no workflow owns. */
  workflowId?: string;
  stackPrefix: string;
  region: string;
  /** Self-heal asked the environment workflow to deploy git's version again. */
  healRequested?: boolean;
  /** Why self-heal, allowed for this environment, did not ask. */
  healSkipped?: string;
}

/** What `driftSweepWorkflow` returns and `cfn-gitops drift --json` prints. */
export interface DriftSweepResult {
  environment?: string;
  startedAt: string;
  finishedAt: string;
  /** One per environment (and prefix), sorted by environment. */
  entries: DriftEntry[];
  /** Entries per status. */
  counts: Partial<Record<SyncStatus, number>>;
}

