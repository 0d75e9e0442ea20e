import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
  type Workflow,
} from '@temporalio/client';
import { WorkflowType } from '../common/messages';
import { DRIFT_SCHEDULE_ID } from '../common/names';

/** What the drift schedule should be. */
export interface DriftScheduleOptions {
  /** Task queue the sweep runs on (the worker's). */
  taskQueue: string;
  /** Time between sweeps (CFN_GITOPS_DRIFT_INTERVAL); 0 removes the schedule. */
  intervalMs: number;
}

/** What {@link ensureDriftSchedule} did. */
export type DriftScheduleOutcome = 'created' | 'updated' | 'unchanged' | 'deleted' | 'absent';

/** Temporal keeps intervals in whole seconds. */
const roundToSecond = (ms: number) => Math.max(1_000, Math.round(ms / 1_000) * 1_000);
/** Missed sweeps (server or workers down) are caught up within one interval, never a year's worth. */
const catchupWindowMs = (intervalMs: number) => Math.max(60_000, intervalMs);

function sweepAction(taskQueue: string): ScheduleOptionsStartWorkflowAction<Workflow> {
  return {
    type: 'startWorkflow',
    workflowType: WorkflowType.DriftSweep,
    taskQueue,
    args: [{}],
    // The schedule appends the start time: cfn-gitops-drift-sweep-2024-05-01T12:00:00Z.
    workflowId: DRIFT_SCHEDULE_ID,
    staticSummary: 'drift sweep: every environment against git and AWS',
  };
}

/** Does the schedule already run the sweep on this queue, at this interval, skipping overlaps? */
function isCurrent(description: ScheduleDescription, options: DriftScheduleOptions): boolean {
  const intervals = description.spec.intervals ?? [];
  const action = description.action;
  return (
    intervals.length === 1 &&
    intervals[0]!.every === roundToSecond(options.intervalMs) &&
    (description.spec.calendars ?? []).length === 0 &&
    action.workflowType === WorkflowType.DriftSweep &&
    action.taskQueue === options.taskQueue &&
    description.policies.overlap === ScheduleOverlapPolicy.SKIP &&
    description.policies.catchupWindow === catchupWindowMs(options.intervalMs)
  );
}

/**
 * Creates the drift sweep's schedule (id `cfn-gitops-drift-sweep`), or brings an existing one to
 * these options; idempotent, so every worker may call it at start. A schedule someone paused
 * (Temporal UI or `temporal schedule toggle --pause`) stays paused, with its note. Overlapping
 * sweeps are skipped. An interval of 0 removes the schedule.
 * @throws the Temporal client's error when the server refuses (e.g. no permission on schedules).
 * @example await ensureDriftSchedule(client, { taskQueue: 'cfn-gitops', intervalMs: 15 * 60_000 })
 */
export async function ensureDriftSchedule(client: Client, options: DriftScheduleOptions): Promise<DriftScheduleOutcome> {
  const handle = client.schedule.getHandle(DRIFT_SCHEDULE_ID);
  if (options.intervalMs <= 0) {
    try {
      await handle.delete();
      return 'deleted';
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) return 'absent';
      throw error;
    }
  }
  const spec = { intervals: [{ every: roundToSecond(options.intervalMs) }] };
  const action = sweepAction(options.taskQueue);
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: catchupWindowMs(options.intervalMs) };
  try {
    await client.schedule.create({
      scheduleId: DRIFT_SCHEDULE_ID,
      spec,
      action,
      policies,
      state: { note: 'created by the cfn-gitops worker (CFN_GITOPS_DRIFT_INTERVAL); pause it here or with `temporal schedule toggle --pause`' },
    });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  if (isCurrent(await handle.describe(), options)) return 'unchanged';
  await handle.update((previous) => ({
    spec,
    action,
    policies: { ...previous.policies, ...policies },
    // Whoever paused it keeps it paused.
    state: { paused: previous.state.paused, note: previous.state.note, remainingActions: previous.state.remainingActions },
  }));
  return 'updated';
}
