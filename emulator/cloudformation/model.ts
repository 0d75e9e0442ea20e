import type { Json, JsonObject } from '../json';
import type { ResolvedOutput, ResolvedResource, TemplateInfo } from '../template';

/** Every status a stack can be in (the service model's StackStatus). */
export type StackStatus =
  | 'CREATE_IN_PROGRESS'
  | 'CREATE_FAILED'
  | 'CREATE_COMPLETE'
  | 'ROLLBACK_IN_PROGRESS'
  | 'ROLLBACK_FAILED'
  | 'ROLLBACK_COMPLETE'
  | 'DELETE_IN_PROGRESS'
  | 'DELETE_FAILED'
  | 'DELETE_COMPLETE'
  | 'UPDATE_IN_PROGRESS'
  | 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'
  | 'UPDATE_COMPLETE'
  | 'UPDATE_FAILED'
  | 'UPDATE_ROLLBACK_IN_PROGRESS'
  | 'UPDATE_ROLLBACK_FAILED'
  | 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS'
  | 'UPDATE_ROLLBACK_COMPLETE'
  | 'REVIEW_IN_PROGRESS';

/** Statuses from which no operation is running. */
export const STABLE_STATUSES: ReadonlySet<StackStatus> = new Set<StackStatus>([
  'CREATE_FAILED',
  'CREATE_COMPLETE',
  'ROLLBACK_FAILED',
  'ROLLBACK_COMPLETE',
  'DELETE_FAILED',
  'DELETE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_FAILED',
  'UPDATE_ROLLBACK_FAILED',
  'UPDATE_ROLLBACK_COMPLETE',
  'REVIEW_IN_PROGRESS',
]);

/** Statuses from which UpdateStack may start. */
export const UPDATABLE_STATUSES: ReadonlySet<StackStatus> = new Set<StackStatus>([
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_ROLLBACK_COMPLETE',
  'UPDATE_FAILED',
]);

/** The resource statuses the emulator writes. */
export type ResourceStatus =
  | 'CREATE_IN_PROGRESS'
  | 'CREATE_FAILED'
  | 'CREATE_COMPLETE'
  | 'DELETE_IN_PROGRESS'
  | 'DELETE_FAILED'
  | 'DELETE_COMPLETE'
  | 'DELETE_SKIPPED'
  | 'UPDATE_IN_PROGRESS'
  | 'UPDATE_FAILED'
  | 'UPDATE_COMPLETE';

/** A stack tag. */
export interface Tag {
  Key: string;
  Value: string;
}

/** One stack event, as DescribeStackEvents returns it. */
export interface StackEvent {
  eventId: string;
  timestamp: number;
  logicalResourceId: string;
  physicalResourceId: string;
  resourceType: string;
  resourceStatus: string;
  resourceStatusReason?: string;
  resourceProperties?: string;
  clientRequestToken?: string;
  operationId?: string;
}

/** Result of the last drift check of a resource. */
export interface ResourceDrift {
  status: 'IN_SYNC' | 'MODIFIED' | 'DELETED' | 'NOT_CHECKED';
  checkedAt: number;
  expected?: JsonObject;
  actual?: JsonObject;
  differences: { path: string; expected: string; actual: string; type: 'ADD' | 'REMOVE' | 'NOT_EQUAL' }[];
}

/** A resource of a stack. */
export interface ResourceRecord {
  logicalId: string;
  type: string;
  physicalId: string;
  attributes: Record<string, Json>;
  status: ResourceStatus;
  statusReason?: string;
  updatedAt: number;
  /** The properties CloudFormation last applied (what drift detection expects). */
  properties?: JsonObject;
  metadata?: Json;
  dependsOn: string[];
  deletionPolicy?: string;
  /** The live properties when they were changed out of band (drift injection). */
  actual?: JsonObject;
  /** Set when the resource was deleted out of band. */
  deletedOutOfBand?: boolean;
  drift?: ResourceDrift;
}

/** What a stack holds apart from resources: template, parameters and settings. */
export interface StackDefinition {
  templateBody: string;
  parameters: Record<string, string>;
  capabilities: string[];
  tags: Tag[];
  roleArn?: string;
  notificationArns: string[];
  description?: string;
  outputs: ResolvedOutput[];
}

/** A step of a stack operation: a stack status change or one half of a resource change. */
export type OperationStep =
  | { kind: 'status'; status: StackStatus; reason?: string }
  | {
      kind: 'resource';
      phase: 'begin' | 'end';
      action: 'CREATE' | 'UPDATE' | 'DELETE';
      logicalId: string;
      /** Set on steps that undo an earlier change (rollback). */
      rollback?: boolean;
      /** For deleting the old physical resource of a replaced resource. */
      replacedPhysicalId?: string;
    };

/** The kinds of stack operation (DescribeStacks' LastOperations). */
export type OperationType = 'CREATE_STACK' | 'UPDATE_STACK' | 'DELETE_STACK' | 'CONTINUE_ROLLBACK' | 'ROLLBACK';

/** A running stack operation: its steps, where it is, and what it needs to roll back. */
export interface StackOperation {
  operationId: string;
  type: OperationType;
  token?: string;
  startedAt: number;
  /** Id of the entry in the operations journal. */
  journalId: string;
  steps: OperationStep[];
  next: number;
  stepMs: number;
  /** When the next step is due (epoch ms), so a restored state resumes on time. */
  dueAt: number;
  /** Takes no step until released through the control API (a plan's `hold`). */
  held?: boolean;
  /** Desired resources of a create or update, by logical id. */
  target: Record<string, ResolvedResource>;
  /** Resources as they were before an update, for rollback. */
  previous: Record<string, ResourceRecord>;
  /** Definition before an update, restored by rollback. */
  previousDefinition?: StackDefinition;
  /** Logical ids touched by this update (updated or created), in order. */
  touched: string[];
  /** Physical ids replaced during an update, deleted in cleanup. */
  replaced: { logicalId: string; physicalId: string; type: string }[];
  /** Planned failure from the control API. */
  failAt?: { logicalResourceId?: string; reason: string };
  /** Planned bad ending from the control API. */
  endIn?: 'UPDATE_ROLLBACK_FAILED' | 'DELETE_FAILED' | 'ROLLBACK_FAILED';
  onFailure: 'ROLLBACK' | 'DO_NOTHING' | 'DELETE';
  /** Logical ids that failed. */
  failed: string[];
  changeSetId?: string;
  /** Outputs the stack shows once the operation completes. */
  outputs?: ResolvedOutput[];
}

/** What ContinueUpdateRollback still has to undo after UPDATE_ROLLBACK_FAILED. */
export interface PendingRollback {
  previous: Record<string, ResourceRecord>;
  previousDefinition?: StackDefinition;
  toRevert: string[];
  toDelete: string[];
  replaced: { logicalId: string; physicalId: string; type: string }[];
}

/** A change set. */
export interface ChangeSetRecord {
  changeSetId: string;
  changeSetName: string;
  stackId: string;
  stackName: string;
  description?: string;
  changeSetType: 'CREATE' | 'UPDATE';
  creationTime: number;
  status: 'CREATE_PENDING' | 'CREATE_IN_PROGRESS' | 'CREATE_COMPLETE' | 'DELETE_COMPLETE' | 'FAILED';
  statusReason?: string;
  executionStatus: 'UNAVAILABLE' | 'AVAILABLE' | 'EXECUTE_IN_PROGRESS' | 'EXECUTE_COMPLETE' | 'EXECUTE_FAILED' | 'OBSOLETE';
  definition: StackDefinition;
  changes: ChangeRecord[];
  token?: string;
  onStackFailure?: 'DO_NOTHING' | 'ROLLBACK' | 'DELETE';
}

/** One resource change of a change set. */
export interface ChangeRecord {
  action: 'Add' | 'Modify' | 'Remove';
  logicalId: string;
  physicalId?: string;
  type: string;
  replacement?: 'True' | 'False';
  details: { name: string; requiresRecreation: 'Never' | 'Always'; before?: string; after?: string }[];
}

/** A drift detection run. */
export interface DriftDetection {
  id: string;
  stackId: string;
  status: 'DETECTION_IN_PROGRESS' | 'DETECTION_COMPLETE' | 'DETECTION_FAILED';
  stackDriftStatus?: 'DRIFTED' | 'IN_SYNC';
  driftedCount?: number;
  timestamp: number;
  logicalIds?: string[];
}

/** A stack: its definition, status, resources, events and bookkeeping. */
export interface StackRecord extends StackDefinition {
  stackId: string;
  stackName: string;
  /** Parsed template (a cache; rebuilt from templateBody on restore). */
  info: TemplateInfo;
  status: StackStatus;
  statusReason?: string;
  creationTime: number;
  lastUpdatedTime?: number;
  deletionTime?: number;
  disableRollback: boolean;
  timeoutInMinutes?: number;
  enableTerminationProtection: boolean;
  resources: Map<string, ResourceRecord>;
  events: StackEvent[];
  /** ClientRequestToken → the call it identified. */
  tokens: Map<string, { action: string; operationId?: string }>;
  changeSets: Map<string, ChangeSetRecord>;
  operation?: StackOperation;
  pendingRollback?: PendingRollback;
  lastOperations: { type: OperationType; id: string }[];
  driftStatus: 'DRIFTED' | 'IN_SYNC' | 'NOT_CHECKED' | 'UNKNOWN';
  driftCheckedAt?: number;
  changeSetId?: string;
}
