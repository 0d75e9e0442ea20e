import type { EmulatorContext } from '../context';
import { validationError } from '../errors';
import { diffJson, type Json } from '../json';
import { uuid } from '../random';
import type { CloudFormationEngine } from './engine';
import type { DriftDetection, ResourceRecord } from './model';

const DETECTABLE = new Set([
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_ROLLBACK_COMPLETE',
  'UPDATE_ROLLBACK_FAILED',
  'DELETE_FAILED',
  'UPDATE_FAILED',
  'CREATE_FAILED',
  'ROLLBACK_FAILED',
]);

function text(value: Json | undefined): string {
  if (value === undefined) return 'null';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Drift detection: compares each resource's applied properties with its live ones (changed or
 * deleted out of band through the control API), asynchronously like AWS.
 */
export class DriftService {
  private readonly detections = new Map<string, DriftDetection>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly cfn: CloudFormationEngine,
  ) {}

  /** DetectStackDrift. @throws AwsError ValidationError. */
  detect(stackName: string, logicalIds: string[]): string {
    const stack = this.cfn.get(stackName);
    if (!DETECTABLE.has(stack.status) || stack.operation) {
      throw validationError(`Drift detection cannot be performed on stack [${stack.stackId}] in status [${stack.status}]`);
    }
    const detection: DriftDetection = {
      id: uuid(),
      stackId: stack.stackId,
      status: 'DETECTION_IN_PROGRESS',
      timestamp: Date.now(),
      logicalIds: logicalIds.length > 0 ? logicalIds : undefined,
    };
    this.detections.set(detection.id, detection);
    this.ctx.scheduler.after(this.ctx.timing.driftDetectionMs, () => this.complete(detection));
    return detection.id;
  }

  private complete(detection: DriftDetection): void {
    const stack = this.cfn.stacks.get(detection.stackId);
    if (!stack || detection.status !== 'DETECTION_IN_PROGRESS') return;
    const now = Date.now();
    let drifted = 0;
    for (const resource of stack.resources.values()) {
      if (detection.logicalIds && !detection.logicalIds.includes(resource.logicalId)) continue;
      if (resource.status === 'DELETE_COMPLETE' || resource.physicalId === '') continue;
      resource.drift = check(resource, now);
      if (resource.drift.status !== 'IN_SYNC') drifted++;
    }
    let stackDrifted = false;
    for (const resource of stack.resources.values()) if (resource.drift && resource.drift.status !== 'IN_SYNC' && resource.drift.status !== 'NOT_CHECKED') stackDrifted = true;
    stack.driftStatus = stackDrifted ? 'DRIFTED' : 'IN_SYNC';
    stack.driftCheckedAt = now;
    detection.status = 'DETECTION_COMPLETE';
    detection.stackDriftStatus = stack.driftStatus;
    detection.driftedCount = drifted;
    detection.timestamp = now;
    this.ctx.changed();
  }

  /** DescribeStackDriftDetectionStatus. @throws AwsError ValidationError for an unknown id. */
  status(id: string): DriftDetection {
    const detection = this.detections.get(id);
    if (!detection) throw validationError(`Stack drift detection [${id}] does not exist`);
    return detection;
  }

  /** Resources of a stack that drift detection has checked, filtered by drift status. */
  resourceDrifts(stackName: string, filters: string[]): ResourceRecord[] {
    const stack = this.cfn.get(stackName);
    const out: ResourceRecord[] = [];
    for (const r of stack.resources.values()) {
      if (!r.drift) continue;
      if (filters.length > 0 && !filters.includes(r.drift.status)) continue;
      out.push(r);
    }
    return out;
  }

  /** Forgets everything. */
  clear(): void {
    this.detections.clear();
  }
}

function check(resource: ResourceRecord, now: number): NonNullable<ResourceRecord['drift']> {
  const expected = resource.properties ?? {};
  if (resource.deletedOutOfBand) {
    return { status: 'DELETED', checkedAt: now, expected, differences: [] };
  }
  const actual = resource.actual ?? expected;
  const differences = diffJson(expected, actual).map((d) => ({
    path: d.path,
    expected: text(d.expected),
    actual: text(d.actual),
    type: d.type,
  }));
  return { status: differences.length > 0 ? 'MODIFIED' : 'IN_SYNC', checkedAt: now, expected, actual, differences };
}
