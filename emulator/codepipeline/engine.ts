import type { StackRecord, StackStatus } from '../cloudformation/model';
import type { EmulatorContext } from '../context';
import { AwsError } from '../errors';
import { isObject, type Json, type JsonObject } from '../json';
import { uuid } from '../random';
import { createOrUpdate, deployResult, outputsOf, resolveVariables, startAction, type ActionEnvironment, type ActionStart } from './actions';
import { declarationFromProperties, InvalidPipelineError } from './declaration';
import type { PlanBook } from '../plans';
import type { ActionDeclaration, ActionRecord, ExecutionRecord, PipelineDeclaration, PipelineRecord, StageStatus } from './model';

const RUNNING = new Set(['InProgress', 'Stopping']);

/** The `Tags` property of a pipeline resource ([{ Key, Value }]) as the API lists tags. */
function resourceTags(props: JsonObject | undefined): { key: string; value: string }[] {
  const list = Array.isArray(props?.Tags) ? props.Tags : [];
  return list.filter(isObject).map((t) => ({ key: String(t.Key ?? ''), value: String(t.Value ?? '') }));
}

/**
 * The CodePipeline engine: pipelines (created by stacks), executions moving through stages over
 * time, stage locking for SUPERSEDED / QUEUED / PARALLEL, stop, and the planned outcomes of the
 * control API.
 */
export class PipelineEngine {
  readonly pipelines = new Map<string, PipelineRecord>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly env: ActionEnvironment,
    /** Planned outcomes from the control API (shared by every region). */
    private readonly plans: PlanBook,
  ) {}

  private notFound(name: string): AwsError {
    return new AwsError('PipelineNotFoundException', `Account '${this.ctx.accountId}' does not have a pipeline with name '${name}'`, 400);
  }

  /** Whether a pipeline of this name exists. */
  has(name: string): boolean {
    return this.pipelines.has(name);
  }

  /** A pipeline by name. @throws AwsError PipelineNotFoundException. */
  get(name: string): PipelineRecord {
    const pipeline = this.pipelines.get(name);
    if (!pipeline) throw this.notFound(name);
    return pipeline;
  }

  /** Creates the pipeline of a stack resource and starts its first execution, as CodePipeline does. */
  createFromStack(stack: StackRecord, name: string, props: JsonObject | undefined, logicalId?: string): void {
    if (this.pipelines.has(name)) {
      throw new Error(`Resource of type 'AWS::CodePipeline::Pipeline' with identifier '${name}' already exists.`);
    }
    const declaration = this.declare(name, props, 1);
    const now = Date.now();
    const pipeline: PipelineRecord = {
      name,
      arn: `arn:aws:codepipeline:${this.ctx.region}:${this.ctx.accountId}:${name}`,
      declaration,
      created: now,
      updated: now,
      stackId: stack.stackId,
      logicalId,
      tags: resourceTags(props),
      executions: new Map(),
      order: [],
      tokens: new Map(),
      occupant: new Map(),
      waiting: new Map(),
      latestInStage: new Map(),
      latestAction: new Map(),
    };
    this.pipelines.set(name, pipeline);
    this.start(pipeline, { triggerType: 'CreatePipeline', triggerDetail: stack.roleArn ?? `arn:aws:iam::${this.ctx.accountId}:root` }, []);
  }

  /** Applies a stack update to the pipeline's structure (a new version; no execution starts). */
  updateFromStack(name: string, props: JsonObject | undefined): void {
    const pipeline = this.get(name);
    pipeline.declaration = this.declare(name, props, pipeline.declaration.version + 1);
    pipeline.tags = resourceTags(props);
    pipeline.updated = Date.now();
    this.ctx.changed();
  }

  /**
   * ListTagsForResource: the stack's tags and the `aws:cloudformation:*` ones, which CloudFormation
   * propagates to the resources it creates, then the resource's own (which win on a shared key).
   * Read from the stack each time, so an update that changes only the stack's tags shows at once.
   * @throws AwsError InvalidArnException, ResourceNotFoundException.
   */
  tagsOf(resourceArn: string): { key: string; value: string }[] {
    if (!/^arn:aws(-[\w]+)*:codepipeline:.+:[0-9]{12}:.+/.test(resourceArn)) {
      throw new AwsError('InvalidArnException', `The ARN ${resourceArn} is not valid.`, 400);
    }
    const pipeline = [...this.pipelines.values()].find((p) => p.arn === resourceArn);
    if (!pipeline) throw new AwsError('ResourceNotFoundException', `The resource with the ARN ${resourceArn} does not exist.`, 400);
    const tags = new Map<string, string>();
    const stack = pipeline.stackId ? this.env.cloudFormation(this.ctx.region).find(pipeline.stackId) : undefined;
    if (stack) {
      tags.set('aws:cloudformation:stack-name', stack.stackName);
      tags.set('aws:cloudformation:stack-id', stack.stackId);
      if (pipeline.logicalId) tags.set('aws:cloudformation:logical-id', pipeline.logicalId);
      for (const t of stack.tags) tags.set(t.Key, t.Value);
    }
    for (const t of pipeline.tags ?? []) tags.set(t.key, t.value);
    return [...tags].map(([key, value]) => ({ key, value }));
  }

  private declare(name: string, props: JsonObject | undefined, version: number): PipelineDeclaration {
    try {
      return declarationFromProperties(name, props, version);
    } catch (error) {
      if (error instanceof InvalidPipelineError) {
        throw new Error(
          `Resource handler returned message: "${error.message} (Service: CodePipeline, Status Code: 400, Request ID: ${uuid()})" (RequestToken: ${uuid()}, HandlerErrorCode: InvalidRequest)`,
        );
      }
      throw error;
    }
  }

  /** Deletes a pipeline and forgets its executions (running ones end as Cancelled in the operations log). */
  delete(name: string): void {
    const pipeline = this.pipelines.get(name);
    if (!pipeline) return;
    for (const execution of pipeline.executions.values()) {
      if (RUNNING.has(execution.status)) this.ctx.journal.update(execution.id, 'Cancelled', true);
    }
    this.pipelines.delete(name);
    this.ctx.changed();
  }

  /**
   * StartPipelineExecution.
   * @throws AwsError PipelineNotFoundException, ValidationException.
   */
  startExecution(input: { name: string; variables: { name: string; value: string }[]; token?: string; caller?: string }): string {
    const pipeline = this.get(input.name);
    if (input.token) {
      const earlier = pipeline.tokens.get(input.token);
      if (earlier) return earlier;
    }
    const declared = pipeline.declaration.variables ?? [];
    if (input.variables.length > 0 && pipeline.declaration.pipelineType !== 'V2') {
      throw new AwsError('ValidationException', 'Pipeline variables are only supported for pipeline type V2', 400);
    }
    const seen = new Set<string>();
    for (const v of input.variables) {
      if (!declared.some((d) => d.name === v.name)) {
        throw new AwsError('ValidationException', `Variable name '${v.name}' is not declared in the pipeline`, 400);
      }
      if (seen.has(v.name)) throw new AwsError('ValidationException', `Duplicate variable name '${v.name}'`, 400);
      seen.add(v.name);
    }
    const execution = this.start(
      pipeline,
      { triggerType: 'StartPipelineExecution', triggerDetail: input.caller ?? `arn:aws:iam::${this.ctx.accountId}:root` },
      input.variables,
      input.token,
    );
    return execution.id;
  }

  private start(
    pipeline: PipelineRecord,
    trigger: ExecutionRecord['trigger'],
    variables: { name: string; value: string }[],
    token?: string,
  ): ExecutionRecord {
    const declaration = pipeline.declaration;
    const resolved = (declaration.variables ?? []).map((d) => ({
      name: d.name,
      resolvedValue: variables.find((v) => v.name === d.name)?.value ?? d.defaultValue ?? '',
    }));
    const plan = this.plans.takePipelinePlan(pipeline.name);
    const now = Date.now();
    const execution: ExecutionRecord = {
      id: uuid(),
      pipelineName: pipeline.name,
      pipelineVersion: declaration.version,
      declaration,
      status: 'InProgress',
      startTime: now,
      lastUpdateTime: now,
      trigger,
      executionMode: declaration.executionMode,
      variables: resolved,
      stageIndex: 0,
      location: 'waiting',
      stageStatus: {},
      runOrder: 0,
      actions: [],
      artifacts: {},
      outputVariables: {},
      artifactRevisions: [],
      sourceRevisions: [],
      plan,
      token,
    };
    pipeline.executions.set(execution.id, execution);
    pipeline.order.push(execution.id);
    if (token) pipeline.tokens.set(token, execution.id);
    this.ctx.journal.begin({
      id: execution.id,
      kind: 'pipeline',
      operation: 'PIPELINE_EXECUTION',
      target: pipeline.name,
      pipelineExecutionId: execution.id,
      status: 'InProgress',
      clientRequestToken: token,
    });
    if (!plan?.hold) this.enterStage(pipeline, execution, 0);
    this.ctx.changed();
    return execution;
  }

  /**
   * Lets the pipeline's held executions (a plan's `hold`) enter their first stage.
   * @returns the ids released, oldest first.
   */
  release(name: string): string[] {
    const pipeline = this.get(name);
    const released: string[] = [];
    for (const id of pipeline.order) {
      const execution = pipeline.executions.get(id)!;
      if (!execution.plan?.hold || execution.status !== 'InProgress') continue;
      execution.plan = { ...execution.plan, hold: false };
      this.enterStage(pipeline, execution, 0);
      released.push(id);
    }
    if (released.length > 0) this.ctx.changed();
    return released;
  }

  private isCurrent(pipeline: PipelineRecord): boolean {
    return this.pipelines.get(pipeline.name) === pipeline;
  }

  private enterStage(pipeline: PipelineRecord, execution: ExecutionRecord, index: number): void {
    execution.stageIndex = index;
    const stages = execution.declaration.stages;
    if (index >= stages.length) {
      this.end(pipeline, execution, 'Succeeded');
      return;
    }
    const stage = stages[index];
    if (execution.executionMode !== 'PARALLEL') {
      const occupantId = pipeline.occupant.get(stage.name);
      const occupant = occupantId ? pipeline.executions.get(occupantId) : undefined;
      if (occupant && occupant !== execution && RUNNING.has(occupant.status) && occupant.location === 'running') {
        const waiting = pipeline.waiting.get(stage.name) ?? [];
        if (execution.executionMode === 'SUPERSEDED') {
          for (const id of waiting) {
            const older = pipeline.executions.get(id);
            if (older && RUNNING.has(older.status)) this.supersede(pipeline, older, execution);
          }
          pipeline.waiting.set(stage.name, [execution.id]);
        } else {
          waiting.push(execution.id);
          pipeline.waiting.set(stage.name, waiting);
        }
        execution.location = 'waiting';
        return;
      }
      pipeline.occupant.set(stage.name, execution.id);
    }
    execution.location = 'running';
    execution.stageStatus[stage.name] = 'InProgress';
    pipeline.latestInStage.set(stage.name, execution.id);
    const first = Math.min(...stage.actions.map((a) => a.runOrder));
    this.startGroup(pipeline, execution, first);
  }

  private supersede(pipeline: PipelineRecord, older: ExecutionRecord, newer: ExecutionRecord): void {
    older.status = 'Superseded';
    older.statusSummary = `Superseded by pipeline execution ${newer.id}`;
    older.location = 'done';
    older.lastUpdateTime = Date.now();
    this.removeWaiting(pipeline, older);
    this.finishJournal(older);
  }

  private startGroup(pipeline: PipelineRecord, execution: ExecutionRecord, runOrder: number): void {
    execution.runOrder = runOrder;
    const stage = execution.declaration.stages[execution.stageIndex];
    for (const declaration of stage.actions.filter((a) => a.runOrder === runOrder)) {
      this.startOne(pipeline, execution, stage.name, declaration);
    }
  }

  private actionDuration(execution: ExecutionRecord): number {
    if (execution.plan?.durationMs !== undefined) {
      const count = execution.declaration.stages.reduce((n, s) => n + s.actions.length, 0);
      return execution.plan.durationMs / Math.max(1, count);
    }
    return this.ctx.timing.actionMs;
  }

  private plannedFailure(execution: ExecutionRecord, actionName: string): string | undefined {
    const plan = execution.plan;
    if (!plan || plan.outcome !== 'Failed') return undefined;
    const stages = execution.declaration.stages;
    const lastStage = stages[stages.length - 1];
    const target = plan.action ?? lastStage.actions[lastStage.actions.length - 1].name;
    const exists = stages.some((s) => s.actions.some((a) => a.name === target));
    const effective = exists ? target : lastStage.actions[lastStage.actions.length - 1].name;
    return effective === actionName ? (plan.message ?? 'Simulated failure') : undefined;
  }

  private startOne(pipeline: PipelineRecord, execution: ExecutionRecord, stageName: string, declaration: ActionDeclaration): void {
    const now = Date.now();
    const configuration = declaration.configuration ?? {};
    const resolvedConfiguration: Record<string, string> = {};
    for (const [k, v] of Object.entries(configuration)) resolvedConfiguration[k] = resolveVariables(v, execution);
    const action: ActionRecord = {
      actionExecutionId: uuid(),
      pipelineExecutionId: execution.id,
      pipelineVersion: execution.pipelineVersion,
      stageName,
      actionName: declaration.name,
      runOrder: declaration.runOrder,
      status: 'InProgress',
      startTime: now,
      lastUpdateTime: now,
      actionTypeId: declaration.actionTypeId,
      configuration,
      resolvedConfiguration,
      roleArn: declaration.roleArn,
      region: declaration.region ?? this.ctx.region,
      namespace: declaration.namespace,
      inputArtifacts: (declaration.inputArtifacts ?? []).map((a) => ({ name: a.name, s3location: execution.artifacts[a.name]?.s3location })),
      outputArtifacts: (declaration.outputArtifacts ?? []).map((a) => ({ name: a.name })),
    };
    execution.actions.push(action);
    pipeline.latestAction.set(`${stageName}/${declaration.name}`, action);
    const duration = this.actionDuration(execution);
    const failure = this.plannedFailure(execution, declaration.name);
    // A deploy lasts as long as its stack operation, unless the execution's plan sets a duration.
    const stackDelay = execution.plan?.durationMs !== undefined ? duration : undefined;
    const started: ActionStart =
      failure !== undefined ? { kind: 'done', ok: false, message: failure } : startAction(this.env, execution, action, stackDelay);
    this.apply(pipeline, execution, action, started, duration);
  }

  /** Applies how an action goes on: completes it after its duration, or waits for its stack. */
  private apply(pipeline: PipelineRecord, execution: ExecutionRecord, action: ActionRecord, started: ActionStart, duration: number): void {
    if (started.kind === 'wait') {
      action.waitFor = { region: started.region, stackName: started.stackName, stackId: started.stackId, operationId: started.operationId, then: started.then };
      action.externalExecutionId = started.stackId;
      this.watchStack(pipeline, execution, action);
      return;
    }
    for (const artifact of started.outputArtifacts ?? []) {
      const location = this.storeArtifact(execution, artifact.name, Buffer.from(artifact.data, 'base64'));
      if (location) artifact.s3location = location;
      execution.artifacts[artifact.name] = artifact;
      const out = action.outputArtifacts.find((o) => o.name === artifact.name);
      if (out && location) out.s3location = location;
    }
    if (started.outputVariables) {
      action.outputVariables = started.outputVariables;
      if (action.namespace) execution.outputVariables[action.namespace] = started.outputVariables;
    }
    if (started.revision) {
      for (const o of action.outputArtifacts) {
        execution.artifactRevisions.push({
          name: o.name,
          revisionId: started.revision.revisionId,
          revisionChangeIdentifier: started.revision.changeId,
          revisionSummary: started.revision.revisionSummary,
          created: started.revision.created,
        });
      }
      execution.sourceRevisions.push({
        actionName: action.actionName,
        revisionId: started.revision.revisionId,
        revisionSummary: started.revision.revisionSummary,
      });
    }
    if (started.externalExecutionId) action.externalExecutionId = started.externalExecutionId;
    action.result = { ok: started.ok, message: started.message, summary: started.summary };
    action.dueAt = Date.now() + duration;
    this.scheduleAction(pipeline, execution, action);
  }

  private storeArtifact(execution: ExecutionRecord, name: string, data: Buffer): { bucket: string; key: string } | undefined {
    const bucket = execution.declaration.artifactStore?.location;
    if (!bucket || !this.env.s3.buckets.has(bucket)) return undefined;
    const key = `${execution.pipelineName.slice(0, 20)}/${name.slice(0, 10)}/${uuid().slice(0, 7)}`;
    this.env.s3.putObject(bucket, key, data, { contentType: 'application/zip' });
    return { bucket, key };
  }

  private scheduleAction(pipeline: PipelineRecord, execution: ExecutionRecord, action: ActionRecord): void {
    const delay = (action.dueAt ?? Date.now()) - Date.now();
    this.ctx.scheduler.after(delay, () => {
      if (!this.isCurrent(pipeline) || action.status !== 'InProgress' || !action.result) return;
      this.complete(pipeline, execution, action, action.result.ok, action.result.message, action.result.summary);
    });
  }

  private watchStack(pipeline: PipelineRecord, execution: ExecutionRecord, action: ActionRecord): void {
    const wait = action.waitFor;
    if (!wait) return;
    const cfn = this.env.cloudFormation(wait.region);
    const onEnd = (stack: StackRecord, status: StackStatus, reason?: string): void => {
      if (!this.isCurrent(pipeline) || action.status !== 'InProgress') return;
      if (wait.then === 'create' && status === 'DELETE_COMPLETE') {
        action.waitFor = undefined;
        const next = createOrUpdate(this.env, execution, action, execution.plan?.durationMs !== undefined ? this.actionDuration(execution) : undefined);
        this.apply(pipeline, execution, action, next, this.ctx.timing.actionMs / 10);
        return;
      }
      const result = deployResult(action, stack, status, reason);
      if (result.ok) {
        action.outputVariables = outputsOf(stack);
        if (action.namespace) execution.outputVariables[action.namespace] = action.outputVariables;
      }
      this.complete(pipeline, execution, action, result.ok, result.message, result.summary);
    };
    const stack = cfn.stacks.get(wait.stackId);
    if (!stack || stack.operation?.operationId !== wait.operationId) {
      // The operation already ended (e.g. before a restart): judge it by the stack's status.
      const s = stack ?? cfn.find(wait.stackName);
      this.ctx.scheduler.after(0, () => {
        if (s) onEnd(s, s.status);
        else this.complete(pipeline, execution, action, false, `Stack ${wait.stackName} does not exist`);
      });
      return;
    }
    cfn.onOperationEnd(wait.operationId, onEnd);
  }

  private complete(
    pipeline: PipelineRecord,
    execution: ExecutionRecord,
    action: ActionRecord,
    ok: boolean,
    message?: string,
    summary?: string,
  ): void {
    const now = Date.now();
    action.status = ok ? 'Succeeded' : 'Failed';
    action.lastUpdateTime = now;
    action.dueAt = undefined;
    action.result = undefined;
    action.waitFor = undefined;
    if (summary) action.summary = summary;
    if (!ok) action.errorDetails = { code: 'JobFailed', message: message ?? 'Action failed' };
    execution.lastUpdateTime = now;
    this.ctx.changed();
    if (!RUNNING.has(execution.status) || execution.location !== 'running') return;
    const stage = execution.declaration.stages[execution.stageIndex];
    const group = execution.actions.filter((a) => a.stageName === stage.name && a.runOrder === execution.runOrder && a.pipelineExecutionId === execution.id);
    const stillRunning = group.some((a) => a.status === 'InProgress');
    if (execution.status === 'Stopping') {
      if (!stillRunning) this.end(pipeline, execution, 'Stopped');
      return;
    }
    if (!ok) {
      execution.statusSummary = undefined;
      this.end(pipeline, execution, 'Failed');
      return;
    }
    if (stillRunning) return;
    const later = stage.actions.map((a) => a.runOrder).filter((r) => r > execution.runOrder);
    if (later.length > 0) {
      this.startGroup(pipeline, execution, Math.min(...later));
      return;
    }
    execution.stageStatus[stage.name] = 'Succeeded';
    this.leaveStage(pipeline, execution, stage.name);
    this.enterStage(pipeline, execution, execution.stageIndex + 1);
  }

  /** Releases a stage's lock and lets the next waiting execution in. */
  private leaveStage(pipeline: PipelineRecord, execution: ExecutionRecord, stageName: string): void {
    if (pipeline.occupant.get(stageName) !== execution.id) return;
    pipeline.occupant.delete(stageName);
    const waiting = pipeline.waiting.get(stageName) ?? [];
    while (waiting.length > 0) {
      const nextId = waiting.shift() as string;
      const next = pipeline.executions.get(nextId);
      if (!next || !RUNNING.has(next.status)) continue;
      if (waiting.length === 0) pipeline.waiting.delete(stageName);
      this.enterStage(pipeline, next, next.stageIndex);
      return;
    }
    pipeline.waiting.delete(stageName);
  }

  private removeWaiting(pipeline: PipelineRecord, execution: ExecutionRecord): void {
    for (const [stage, ids] of pipeline.waiting) {
      const rest = ids.filter((id) => id !== execution.id);
      if (rest.length === 0) pipeline.waiting.delete(stage);
      else pipeline.waiting.set(stage, rest);
    }
  }

  private end(pipeline: PipelineRecord, execution: ExecutionRecord, status: 'Succeeded' | 'Failed' | 'Stopped'): void {
    const stages = execution.declaration.stages;
    const stage = stages[Math.min(execution.stageIndex, stages.length - 1)];
    const wasRunning = execution.location === 'running';
    execution.status = status;
    execution.lastUpdateTime = Date.now();
    if (wasRunning && status !== 'Succeeded') execution.stageStatus[stage.name] = status as StageStatus;
    execution.location = 'done';
    this.removeWaiting(pipeline, execution);
    // Artifacts are kept in S3 (when the store exists); their bytes need not stay in memory.
    for (const artifact of Object.values(execution.artifacts)) artifact.data = '';
    this.finishJournal(execution);
    this.ctx.changed();
    if (wasRunning) this.leaveStage(pipeline, execution, stage.name);
  }

  private finishJournal(execution: ExecutionRecord): void {
    this.ctx.journal.update(execution.id, execution.status, true);
  }

  /**
   * StopPipelineExecution: `abandon` stops at once, otherwise the execution is Stopping until
   * the running actions finish.
   * @throws AwsError PipelineExecutionNotFoundException, PipelineExecutionNotStoppableException, DuplicatedStopRequestException.
   */
  stopExecution(input: { name: string; executionId: string; abandon: boolean; reason?: string }): void {
    const pipeline = this.get(input.name);
    const execution = pipeline.executions.get(input.executionId);
    if (!execution) {
      throw new AwsError(
        'PipelineExecutionNotFoundException',
        `Pipeline execution with id ${input.executionId} does not exist in pipeline with name ${input.name}.`,
        400,
      );
    }
    if (!RUNNING.has(execution.status)) {
      throw new AwsError(
        'PipelineExecutionNotStoppableException',
        `Unable to stop pipeline execution ${execution.id} since it is in ${execution.status} state.`,
        400,
      );
    }
    if (execution.status === 'Stopping' && !input.abandon) {
      throw new AwsError('DuplicatedStopRequestException', `Pipeline execution ${execution.id} is already being stopped.`, 400);
    }
    execution.stop = { abandon: input.abandon, reason: input.reason };
    execution.statusSummary = input.reason;
    const running = execution.actions.filter((a) => a.status === 'InProgress');
    if (input.abandon || execution.location !== 'running' || running.length === 0) {
      for (const a of running) {
        a.status = 'Abandoned';
        a.lastUpdateTime = Date.now();
        a.dueAt = undefined;
        a.result = undefined;
        a.waitFor = undefined;
      }
      this.end(pipeline, execution, 'Stopped');
      return;
    }
    execution.status = 'Stopping';
    execution.lastUpdateTime = Date.now();
    const stage = execution.declaration.stages[execution.stageIndex];
    execution.stageStatus[stage.name] = 'Stopping';
    this.ctx.journal.update(execution.id, 'Stopping', false);
    this.ctx.changed();
  }

  /** Forgets everything (plans are cleared by their owner). */
  clear(): void {
    this.pipelines.clear();
  }

  /** Pipelines and executions as JSON for the state file. */
  snapshot(): Json {
    const out: Json[] = [];
    for (const p of this.pipelines.values()) {
      out.push({
        name: p.name,
        arn: p.arn,
        declaration: p.declaration as unknown as Json,
        created: p.created,
        updated: p.updated,
        stackId: p.stackId ?? null,
        logicalId: p.logicalId ?? null,
        tags: (p.tags ?? null) as unknown as Json,
        executions: [...p.executions.values()].map((e) => ({
          ...(e as unknown as JsonObject),
          declaration: (e.declaration === p.declaration ? null : e.declaration) as unknown as Json,
        })),
        tokens: [...p.tokens.entries()],
        occupant: [...p.occupant.entries()],
        waiting: [...p.waiting.entries()],
        latestInStage: [...p.latestInStage.entries()],
      } as unknown as JsonObject);
    }
    return out;
  }

  /** Restores what `snapshot` returned and resumes running executions. */
  restore(data: Json): void {
    this.clear();
    type Stored = Omit<PipelineRecord, 'executions' | 'order' | 'tokens' | 'occupant' | 'waiting' | 'latestInStage' | 'latestAction' | 'logicalId' | 'tags'> & {
      stackId: string | null;
      logicalId?: string | null;
      tags?: { key: string; value: string }[] | null;
      executions: (ExecutionRecord & { declaration: PipelineDeclaration | null })[];
      tokens: [string, string][];
      occupant: [string, string][];
      waiting: [string, string[]][];
      latestInStage: [string, string][];
    };
    for (const s of (data ?? []) as unknown as Stored[]) {
      const pipeline: PipelineRecord = {
        name: s.name,
        arn: s.arn,
        declaration: s.declaration,
        created: s.created,
        updated: s.updated,
        stackId: s.stackId ?? undefined,
        logicalId: s.logicalId ?? undefined,
        tags: s.tags ?? undefined,
        executions: new Map(),
        order: [],
        tokens: new Map(s.tokens),
        occupant: new Map(s.occupant),
        waiting: new Map(s.waiting),
        latestInStage: new Map(s.latestInStage),
        latestAction: new Map(),
      };
      for (const e of s.executions) {
        const execution: ExecutionRecord = { ...e, declaration: e.declaration ?? s.declaration };
        pipeline.executions.set(execution.id, execution);
        pipeline.order.push(execution.id);
        for (const a of execution.actions) pipeline.latestAction.set(`${a.stageName}/${a.actionName}`, a);
      }
      this.pipelines.set(pipeline.name, pipeline);
    }
    for (const pipeline of this.pipelines.values()) {
      for (const execution of pipeline.executions.values()) {
        if (!RUNNING.has(execution.status)) continue;
        for (const action of execution.actions) {
          if (action.status !== 'InProgress' || action.pipelineExecutionId !== execution.id) continue;
          if (action.waitFor) this.watchStack(pipeline, execution, action);
          else if (action.result) this.scheduleAction(pipeline, execution, action);
        }
      }
    }
  }
}
