import { z } from 'zod';
import { parseDuration } from '../common/duration';
import { parseFreezeWindows } from '../common/freeze';
import { parseApprovalRules, type PolicySettings } from '../common/policy';
import { explainZodError, readTemporalSettings, type TemporalSettings } from '../common/temporal-settings';

const list = z.string().transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));
const duration = z.string().transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});
/** What AWS accepts as a tag value. */
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,256}$/u;
const flag = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((value) => ['true', '1', 'yes'].includes(value));

/** Everything the worker reads from its environment. */
export interface WorkerSettings {
  temporal: TemporalSettings;
  /** AWS_REGION (or AWS_DEFAULT_REGION), default us-east-1. */
  region: string;
  /** AWS_ENDPOINT_URL: set for the local emulator; absent for real AWS. */
  endpointUrl?: string;
  policy: PolicySettings;
  /** CFN_GITOPS_POLL_MIN / CFN_GITOPS_POLL_MAX: first and longest delay between polls of a wait. */
  poll: { minMs: number; maxMs: number };
  /** CFN_GITOPS_DRIFT_INTERVAL: how often the drift sweep runs (default 15m); 0 disables the schedule. */
  driftIntervalMs: number;
  /** CFN_GITOPS_DRIFT_CONCURRENCY: environments checked at once by a sweep (default 8). */
  driftConcurrency: number;
  /** CFN_GITOPS_LOG_LEVEL: least level the worker logs (TRACE, DEBUG, INFO, WARN, ERROR; default INFO). */
  logLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** CFN_GITOPS_HEALTH_PORT: port of the worker's /healthz and /metrics; absent: none. */
  healthPort?: number;
  /**
   * CFN_GITOPS_INSTALLATION: the `cfn-gitops:installation` tag this worker writes on its stacks and
   * requires on stacks that carry one; default `<TEMPORAL_NAMESPACE>/<CFN_GITOPS_TASK_QUEUE>`.
   */
  installation: string;
  /** The worker's slots, pollers and rate limit; an absent field keeps the Temporal SDK's default. */
  tuning: WorkerTuning;
}

/** How much work one worker takes at once, and how fast the task queue hands out activities. */
export interface WorkerTuning {
  /** CFN_GITOPS_MAX_ACTIVITIES: activities this worker runs at once (the SDK's maxConcurrentActivityTaskExecutions, default 100). */
  maxActivities?: number;
  /** CFN_GITOPS_MAX_WORKFLOW_TASKS: workflow tasks this worker runs at once (the SDK's maxConcurrentWorkflowTaskExecutions, default 40). */
  maxWorkflowTasks?: number;
  /** CFN_GITOPS_ACTIVITY_POLLERS: activity task polls this worker keeps open (default min(10, CFN_GITOPS_MAX_ACTIVITIES)). */
  activityPollers?: number;
  /** CFN_GITOPS_WORKFLOW_POLLERS: workflow task polls this worker keeps open (default min(10, CFN_GITOPS_MAX_WORKFLOW_TASKS)). */
  workflowPollers?: number;
  /** CFN_GITOPS_MAX_ACTIVITIES_PER_SECOND: activities the whole task queue starts per second, across all workers (default: no limit). */
  maxActivitiesPerSecond?: number;
  /** CFN_GITOPS_MAX_CACHED_WORKFLOWS: workflows kept in memory between their tasks (default 200); a workflow not held replays its history on its next task. */
  maxCachedWorkflows?: number;
}

/** The SDK's own defaults, which the poller counts are checked against when the slots are not set. */
const SDK_DEFAULT_ACTIVITIES = 100;
const SDK_DEFAULT_WORKFLOW_TASKS = 40;

const workerSchema = z.object({
  AWS_REGION: z.string().optional(),
  AWS_DEFAULT_REGION: z.string().optional(),
  AWS_ENDPOINT_URL: z.string().url().optional(),
  CFN_GITOPS_PROTECTED_ENVIRONMENTS: list.default(['prod']),
  CFN_GITOPS_APPROVAL_WINDOW: duration.default(7 * 86_400_000),
  CFN_GITOPS_ALLOW_SELF_APPROVAL: flag.default(false),
  CFN_GITOPS_SELF_HEAL_ENVIRONMENTS: list.default([]),
  CFN_GITOPS_REQUIRED_APPROVALS: z.string().transform((value, ctx) => {
    try {
      return parseApprovalRules(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }).default([]),
  // JSON: [{"environments":["prod"],"reason":"...","start":"...","end":"..."}] or {..., "cron":"0 18 * * 5","duration":"62h"}.
  CFN_GITOPS_FREEZE: z.string().transform((value, ctx) => {
    try {
      let windows: unknown;
      try {
        windows = value.trim() === '' ? [] : JSON.parse(value);
      } catch (error) {
        throw new Error(`not JSON (${(error as Error).message}): write a list of windows`);
      }
      return parseFreezeWindows(windows, 'CFN_GITOPS_FREEZE');
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }).default([]),
  // A 10-minute pipeline is seen within 2 minutes of its end for 15 AWS calls per deployment.
  CFN_GITOPS_POLL_MIN: duration.default(5_000),
  CFN_GITOPS_POLL_MAX: duration.default(120_000),
  CFN_GITOPS_DRIFT_INTERVAL: duration.default(15 * 60_000),
  CFN_GITOPS_DRIFT_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(8),
  CFN_GITOPS_LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  CFN_GITOPS_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  // A tag value: at most 256 characters for CloudFormation and CodePipeline.
  CFN_GITOPS_INSTALLATION: z.string().min(1).max(256).optional(),
  CFN_GITOPS_MAX_ACTIVITIES: z.coerce.number().int().min(1).optional(),
  // The SDK refuses fewer than 2 workflow task slots while workflows are cached.
  CFN_GITOPS_MAX_WORKFLOW_TASKS: z.coerce.number().int().min(2).optional(),
  CFN_GITOPS_ACTIVITY_POLLERS: z.coerce.number().int().min(1).optional(),
  // One sticky and one normal poll at least.
  CFN_GITOPS_WORKFLOW_POLLERS: z.coerce.number().int().min(2).optional(),
  CFN_GITOPS_MAX_ACTIVITIES_PER_SECOND: z.coerce.number().positive().optional(),
  // Waiting deployments do not wake their workflows (each poll is an activity attempt), so the
  // cache serves the bursts of a push; the SDK's default (from the heap size: about 2,000 here)
  // holds every workflow at about 0.45 MB each.
  CFN_GITOPS_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(200),
});

/** Poll counts above the slots they fill would hold tasks no slot can take: refused with the fix. */
function checkPollers(w: z.infer<typeof workerSchema>): void {
  const pairs = [
    ['CFN_GITOPS_ACTIVITY_POLLERS', w.CFN_GITOPS_ACTIVITY_POLLERS, 'CFN_GITOPS_MAX_ACTIVITIES', w.CFN_GITOPS_MAX_ACTIVITIES, SDK_DEFAULT_ACTIVITIES],
    ['CFN_GITOPS_WORKFLOW_POLLERS', w.CFN_GITOPS_WORKFLOW_POLLERS, 'CFN_GITOPS_MAX_WORKFLOW_TASKS', w.CFN_GITOPS_MAX_WORKFLOW_TASKS, SDK_DEFAULT_WORKFLOW_TASKS],
  ] as const;
  for (const [pollName, pollers, slotName, slots, sdkDefault] of pairs) {
    const limit = slots ?? sdkDefault;
    if (pollers !== undefined && pollers > limit) {
      const from = slots === undefined ? ` (${slotName} is unset: the SDK's default)` : '';
      throw new Error(`invalid settings: ${pollName}: ${pollers} pollers cannot exceed ${slotName}, ${limit}${from}; lower ${pollName} or raise ${slotName}`);
    }
  }
}

/**
 * The worker's settings from environment variables, with local defaults.
 * @throws Error naming each invalid variable.
 * @example readWorkerSettings({ CFN_GITOPS_PROTECTED_ENVIRONMENTS: 'prod,staging' }).policy.protectedEnvironments
 */
export function readWorkerSettings(env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  const parsed = workerSchema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid settings: ${explainZodError(parsed.error)}`);
  const w = parsed.data;
  checkPollers(w);
  const temporal = readTemporalSettings(env);
  const installation = w.CFN_GITOPS_INSTALLATION ?? `${temporal.namespace}/${temporal.taskQueue}`;
  if (!TAG_VALUE.test(installation)) {
    const from = w.CFN_GITOPS_INSTALLATION === undefined ? ' (TEMPORAL_NAMESPACE/CFN_GITOPS_TASK_QUEUE, as it is unset)' : '';
    throw new Error(
      `invalid settings: CFN_GITOPS_INSTALLATION: "${installation}"${from} cannot be an AWS tag value (letters, digits, spaces and _ . : / = + - @ only); set CFN_GITOPS_INSTALLATION to one`,
    );
  }
  return {
    temporal,
    region: w.AWS_REGION ?? w.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpointUrl: w.AWS_ENDPOINT_URL,
    policy: {
      protectedEnvironments: w.CFN_GITOPS_PROTECTED_ENVIRONMENTS,
      approvalWindowMs: w.CFN_GITOPS_APPROVAL_WINDOW,
      allowSelfApproval: w.CFN_GITOPS_ALLOW_SELF_APPROVAL,
      selfHealEnvironments: w.CFN_GITOPS_SELF_HEAL_ENVIRONMENTS,
      requiredApprovals: w.CFN_GITOPS_REQUIRED_APPROVALS,
      freezeWindows: w.CFN_GITOPS_FREEZE,
    },
    poll: { minMs: w.CFN_GITOPS_POLL_MIN, maxMs: w.CFN_GITOPS_POLL_MAX },
    driftIntervalMs: w.CFN_GITOPS_DRIFT_INTERVAL,
    driftConcurrency: w.CFN_GITOPS_DRIFT_CONCURRENCY,
    logLevel: w.CFN_GITOPS_LOG_LEVEL,
    healthPort: w.CFN_GITOPS_HEALTH_PORT,
    installation,
    tuning: {
      maxActivities: w.CFN_GITOPS_MAX_ACTIVITIES,
      maxWorkflowTasks: w.CFN_GITOPS_MAX_WORKFLOW_TASKS,
      activityPollers: w.CFN_GITOPS_ACTIVITY_POLLERS,
      workflowPollers: w.CFN_GITOPS_WORKFLOW_POLLERS,
      maxActivitiesPerSecond: w.CFN_GITOPS_MAX_ACTIVITIES_PER_SECOND,
      maxCachedWorkflows: w.CFN_GITOPS_MAX_CACHED_WORKFLOWS,
    },
  };
}
