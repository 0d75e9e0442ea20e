/** The pipeline structure as GetPipeline returns it (service model PipelineDeclaration). */
export interface PipelineDeclaration {
  name: string;
  roleArn: string;
  artifactStore?: { type: string; location: string; encryptionKey?: { id: string; type: string } };
  artifactStores?: Record<string, { type: string; location: string; encryptionKey?: { id: string; type: string } }>;
  stages: StageDeclaration[];
  version: number;
  executionMode: ExecutionMode;
  pipelineType: 'V1' | 'V2';
  variables?: { name: string; defaultValue?: string; description?: string }[];
  triggers?: unknown[];
}

/** A stage of a pipeline. */
export interface StageDeclaration {
  name: string;
  blockers?: { name: string; type: string }[];
  actions: ActionDeclaration[];
}

/** An action of a stage. */
export interface ActionDeclaration {
  name: string;
  actionTypeId: { category: string; owner: string; provider: string; version: string };
  runOrder: number;
  configuration?: Record<string, string>;
  outputArtifacts?: { name: string }[];
  inputArtifacts?: { name: string }[];
  roleArn?: string;
  region?: string;
  namespace?: string;
  timeoutInMinutes?: number;
}

/** QUEUED, SUPERSEDED or PARALLEL. */
export type ExecutionMode = 'QUEUED' | 'SUPERSEDED' | 'PARALLEL';

/** Pipeline execution statuses. */
export type ExecutionStatus = 'Cancelled' | 'InProgress' | 'Stopped' | 'Stopping' | 'Succeeded' | 'Superseded' | 'Failed';

/** Stage execution statuses. */
export type StageStatus = 'Cancelled' | 'InProgress' | 'Failed' | 'Stopped' | 'Stopping' | 'Succeeded' | 'Skipped';

/** A planned outcome for a coming execution, set through the control API. */
export interface ExecutionPlan {
  /** Succeeded runs the pipeline as it is; Failed fails the named action with the message. */
  outcome: 'Succeeded' | 'Failed';
  /** The action that fails (default: the pipeline's last action). */
  action?: string;
  /** The failure message. */
  message?: string;
  /** Total duration of the execution, spread over its actions (deploy actions included). */
  durationMs?: number;
  /** The execution starts InProgress but enters no stage until released through the control API. */
  hold?: boolean;
}

/** One action execution (ListActionExecutions' ActionExecutionDetail). */
export interface ActionRecord {
  actionExecutionId: string;
  pipelineExecutionId: string;
  pipelineVersion: number;
  stageName: string;
  actionName: string;
  runOrder: number;
  status: 'InProgress' | 'Abandoned' | 'Succeeded' | 'Failed';
  startTime: number;
  lastUpdateTime: number;
  /** When a timed action completes (epoch ms); absent while it waits on a stack operation. */
  dueAt?: number;
  /** The planned result of a timed action. */
  result?: { ok: boolean; message?: string; summary?: string };
  /** A stack operation the action waits for. */
  waitFor?: { region: string; stackName: string; stackId: string; operationId: string; then?: 'create' };
  actionTypeId: ActionDeclaration['actionTypeId'];
  configuration: Record<string, string>;
  resolvedConfiguration: Record<string, string>;
  roleArn?: string;
  region: string;
  namespace?: string;
  inputArtifacts: { name: string; s3location?: { bucket: string; key: string } }[];
  outputArtifacts: { name: string; s3location?: { bucket: string; key: string } }[];
  outputVariables?: Record<string, string>;
  summary?: string;
  externalExecutionId?: string;
  externalExecutionUrl?: string;
  errorDetails?: { code: string; message: string };
}

/** An artifact produced during an execution. */
export interface ArtifactRecord {
  name: string;
  /** The zip (or object) bytes, base64; kept while the execution runs. */
  data: string;
  s3location?: { bucket: string; key: string };
  revisionId?: string;
}

/** A pipeline execution. */
export interface ExecutionRecord {
  id: string;
  pipelineName: string;
  pipelineVersion: number;
  declaration: PipelineDeclaration;
  status: ExecutionStatus;
  statusSummary?: string;
  startTime: number;
  lastUpdateTime: number;
  trigger: { triggerType: string; triggerDetail?: string };
  executionMode: ExecutionMode;
  variables: { name: string; resolvedValue: string }[];
  /** Index of the stage it is in or waits for. */
  stageIndex: number;
  /** Where it is: waiting to enter stageIndex, running in it, or finished. */
  location: 'waiting' | 'running' | 'done';
  /** Stage name → status for this execution. */
  stageStatus: Record<string, StageStatus>;
  /** runOrder of the group of actions running now. */
  runOrder: number;
  actions: ActionRecord[];
  artifacts: Record<string, ArtifactRecord>;
  outputVariables: Record<string, Record<string, string>>;
  artifactRevisions: { name: string; revisionId?: string; revisionChangeIdentifier?: string; revisionSummary?: string; created?: number }[];
  sourceRevisions: { actionName: string; revisionId?: string; revisionSummary?: string }[];
  plan?: ExecutionPlan;
  stop?: { abandon: boolean; reason?: string };
  token?: string;
}

/** A pipeline and its executions. */
export interface PipelineRecord {
  name: string;
  arn: string;
  declaration: PipelineDeclaration;
  created: number;
  updated: number;
  /** The stack that created it, when a stack did. */
  stackId?: string;
  /** Logical id of its resource in that stack. */
  logicalId?: string;
  /** The resource's own `Tags` property; the stack's tags are added when they are listed. */
  tags?: { key: string; value: string }[];
  executions: Map<string, ExecutionRecord>;
  /** Execution ids in start order. */
  order: string[];
  /** clientRequestToken → execution id. */
  tokens: Map<string, string>;
  /** Stage name → the execution in it (QUEUED and SUPERSEDED lock stages). */
  occupant: Map<string, string>;
  /** Stage name → executions waiting to enter it, oldest first. */
  waiting: Map<string, string[]>;
  /** Stage name → the latest execution that entered it. */
  latestInStage: Map<string, string>;
  /** "stage/action" → the latest action execution. */
  latestAction: Map<string, ActionRecord>;
}
