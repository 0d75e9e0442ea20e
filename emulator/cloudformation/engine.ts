import type { EmulatorContext } from '../context';
import { AwsError, validationError } from '../errors';
import { deepEqual, setPath, type Json, type JsonObject } from '../json';
import type { PlanBook } from '../plans';
import { uuid } from '../random';
import {
  checkCapabilities,
  parseTemplate,
  resolveParameterValues,
  resolveTemplate,
  type ParameterInput,
  type ResolvedResource,
  type ResolvedTemplate,
  type TemplateInfo,
} from '../template';
import {
  STABLE_STATUSES,
  UPDATABLE_STATUSES,
  type OperationStep,
  type OperationType,
  type ResourceRecord,
  type StackDefinition,
  type StackEvent,
  type StackOperation,
  type StackRecord,
  type StackStatus,
  type Tag,
} from './model';
import { genericAttribute, identifyResource } from './resources';

/** A resource as the provisioner sees it. */
export interface ProvisionedResource {
  logicalId: string;
  type: string;
  physicalId: string;
  properties?: JsonObject;
}

/**
 * Creates, updates and deletes whatever real thing stands behind a resource (a pipeline, a
 * bucket). Throwing an Error fails the resource with the error's message as status reason.
 */
export interface ResourceProvisioner {
  create(stack: StackRecord, resource: ProvisionedResource): void;
  update(stack: StackRecord, before: ProvisionedResource, after: ProvisionedResource): void;
  delete(stack: StackRecord, resource: ProvisionedResource): void;
}

/** Input of CreateStack (and of a CREATE change set's execution). */
export interface CreateStackInput {
  stackName: string;
  templateBody: string;
  parameters: ParameterInput[];
  capabilities: string[];
  tags: Tag[];
  roleArn?: string;
  notificationArns: string[];
  disableRollback?: boolean;
  onFailure?: 'DO_NOTHING' | 'ROLLBACK' | 'DELETE';
  timeoutInMinutes?: number;
  enableTerminationProtection?: boolean;
  token?: string;
  /** Total duration, overriding timing and plans (used by pipeline actions with a set duration). */
  delayMs?: number;
}

/** Input of UpdateStack. */
export interface UpdateStackInput {
  stackName: string;
  templateBody?: string;
  usePreviousTemplate?: boolean;
  parameters: ParameterInput[];
  capabilities: string[];
  /** Undefined keeps the stack's tags. */
  tags?: Tag[];
  roleArn?: string;
  notificationArns?: string[];
  disableRollback?: boolean;
  token?: string;
  delayMs?: number;
}

/** Input of DeleteStack. */
export interface DeleteStackInput {
  stackName: string;
  retainResources?: string[];
  roleArn?: string;
  token?: string;
  deletionMode?: 'STANDARD' | 'FORCE_DELETE_STACK';
  delayMs?: number;
}

/** What a started operation returns. */
export interface OperationStarted {
  stackId: string;
  operationId?: string;
}

/** Called when a stack operation reaches a final status. */
export type OperationListener = (stack: StackRecord, status: StackStatus, failureReason?: string) => void;

const STACK_TYPE = 'AWS::CloudFormation::Stack';
const STACK_NAME_PATTERN = /^[a-zA-Z][-a-zA-Z0-9]*$/;

/**
 * The CloudFormation engine: stacks, their asynchronous operations, events, rollbacks and
 * exports. The HTTP layer (api.ts), change sets, drift detection and CodePipeline's deploy
 * action all go through it.
 */
export class CloudFormationEngine {
  /** Every stack ever created, deleted ones included, by stack id. */
  readonly stacks = new Map<string, StackRecord>();
  /** Live (not deleted) stacks by name. */
  private readonly byName = new Map<string, string>();
  /** Physical id → stack id and logical id. */
  private readonly physicalIndex = new Map<string, { stackId: string; logicalId: string }>();
  /** Export name → value and exporting stack. */
  readonly exports = new Map<string, { stackId: string; value: string }>();
  private readonly listeners = new Map<string, OperationListener[]>();
  private provisioner: ResourceProvisioner = { create() {}, update() {}, delete() {} };
  private templateFetcher: (url: string) => string = () => {
    throw validationError('TemplateURL must be a supported URL.');
  };

  constructor(
    private readonly ctx: EmulatorContext,
    /** Planned outcomes from the control API (shared by every region). */
    private readonly plans: PlanBook,
  ) {}

  /** Connects the things that exist behind resources (pipelines, buckets). */
  setProvisioner(provisioner: ResourceProvisioner): void {
    this.provisioner = provisioner;
  }

  /** Connects the reader of TemplateURL objects (the emulator's S3). */
  setTemplateFetcher(fetch: (url: string) => string): void {
    this.templateFetcher = fetch;
  }

  /** Reads a template from TemplateURL. @throws AwsError ValidationError. */
  fetchTemplate(url: string): string {
    return this.templateFetcher(url);
  }

  /** Calls `listener` once when the operation ends. */
  onOperationEnd(operationId: string, listener: OperationListener): void {
    const list = this.listeners.get(operationId);
    if (list) list.push(listener);
    else this.listeners.set(operationId, [listener]);
  }

  /** Finds a live stack by name, or any stack (deleted too) by stack id. */
  find(nameOrId: string): StackRecord | undefined {
    if (nameOrId.startsWith('arn:')) return this.stacks.get(nameOrId);
    const id = this.byName.get(nameOrId);
    return id === undefined ? undefined : this.stacks.get(id);
  }

  /** Like `find`. @throws AwsError ValidationError "Stack with id X does not exist". */
  get(nameOrId: string): StackRecord {
    const stack = this.find(nameOrId);
    if (!stack) throw validationError(`Stack with id ${nameOrId} does not exist`);
    return stack;
  }

  /**
   * The earlier call a ClientRequestToken identified on this stack, when it was the same action.
   * @throws AwsError TokenAlreadyExistsException when the token was used for another action.
   */
  earlierCall(stack: StackRecord, token: string | undefined, action: string): { operationId?: string } | undefined {
    if (!token) return undefined;
    const earlier = stack.tokens.get(token);
    if (!earlier) return undefined;
    if (earlier.action !== action) {
      throw new AwsError(
        'TokenAlreadyExistsException',
        `Another ${earlier.action} request has already been submitted with the client request token ${token}`,
        400,
      );
    }
    return earlier;
  }

  /** Finds the stack and logical id that own a physical resource id. */
  findByPhysicalId(physicalId: string): { stack: StackRecord; logicalId: string } | undefined {
    const hit = this.physicalIndex.get(physicalId);
    if (!hit) return undefined;
    const stack = this.stacks.get(hit.stackId);
    return stack ? { stack, logicalId: hit.logicalId } : undefined;
  }

  /** Live stacks, newest first. */
  liveStacks(): StackRecord[] {
    const out: StackRecord[] = [];
    for (const id of this.byName.values()) {
      const stack = this.stacks.get(id);
      if (stack) out.push(stack);
    }
    return out.reverse();
  }

  /** Number of live stacks. */
  get liveCount(): number {
    return this.byName.size;
  }

  /** Parses a template body or fetches TemplateURL first. */
  loadTemplate(body: string | undefined, url: string | undefined): TemplateInfo {
    if (body !== undefined && url !== undefined) {
      throw validationError('Specify exactly one of TemplateBody or TemplateUrl.');
    }
    if (body === undefined && url === undefined) throw validationError('Either Template URL or Template Body must be specified.');
    return parseTemplate(body ?? this.fetchTemplate(url as string));
  }

  private checkName(name: string): void {
    if (name.length > 128 || !STACK_NAME_PATTERN.test(name)) {
      throw validationError(
        `1 validation error detected: Value '${name}' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*|arn:[-a-zA-Z0-9:/._+]*`,
      );
    }
  }

  /** A new stack record (not yet registered). */
  newStack(name: string, info: TemplateInfo, status: StackStatus): StackRecord {
    return {
      stackId: `arn:aws:cloudformation:${this.ctx.region}:${this.ctx.accountId}:stack/${name}/${uuid()}`,
      stackName: name,
      info,
      templateBody: info.body,
      description: info.description,
      parameters: {},
      capabilities: [],
      tags: [],
      notificationArns: [],
      outputs: [],
      status,
      creationTime: Date.now(),
      disableRollback: false,
      enableTerminationProtection: false,
      resources: new Map(),
      events: [],
      tokens: new Map(),
      changeSets: new Map(),
      lastOperations: [],
      driftStatus: 'NOT_CHECKED',
    };
  }

  /** Registers a stack under its name. */
  register(stack: StackRecord): void {
    this.stacks.set(stack.stackId, stack);
    this.byName.set(stack.stackName, stack.stackId);
  }

  /**
   * CreateStack.
   * @throws AwsError AlreadyExistsException, ValidationError, InsufficientCapabilitiesException.
   */
  createStack(input: CreateStackInput): OperationStarted {
    this.checkName(input.stackName);
    const existing = this.find(input.stackName);
    if (existing) {
      const earlier = this.earlierCall(existing, input.token, 'CreateStack');
      if (earlier) return { stackId: existing.stackId, operationId: earlier.operationId };
      throw new AwsError('AlreadyExistsException', `Stack [${input.stackName}] already exists`, 400);
    }
    const info = parseTemplate(input.templateBody);
    const parameters = resolveParameterValues(info, input.parameters);
    checkCapabilities(info, input.capabilities);
    const stack = this.newStack(input.stackName, info, 'CREATE_IN_PROGRESS');
    Object.assign(stack, {
      parameters,
      capabilities: input.capabilities,
      tags: input.tags,
      roleArn: input.roleArn,
      notificationArns: input.notificationArns,
      disableRollback: input.disableRollback ?? input.onFailure === 'DO_NOTHING',
      timeoutInMinutes: input.timeoutInMinutes,
      enableTerminationProtection: input.enableTerminationProtection ?? false,
    });
    const resolved = this.resolve(stack, info, parameters, new Map());
    this.register(stack);
    const operationId = this.beginCreate(stack, resolved, {
      token: input.token,
      onFailure: input.onFailure ?? (input.disableRollback ? 'DO_NOTHING' : 'ROLLBACK'),
      delayMs: input.delayMs,
      initialStatus: true,
    });
    if (input.token) stack.tokens.set(input.token, { action: 'CreateStack', operationId });
    return { stackId: stack.stackId, operationId };
  }

  /** Starts the create operation of a registered stack (CreateStack or a CREATE change set). */
  beginCreate(
    stack: StackRecord,
    resolved: ResolvedTemplate,
    options: { token?: string; onFailure: 'DO_NOTHING' | 'ROLLBACK' | 'DELETE'; delayMs?: number; initialStatus: boolean; changeSetId?: string },
  ): string {
    const steps: OperationStep[] = [];
    for (const r of resolved.resources) {
      steps.push({ kind: 'resource', phase: 'begin', action: 'CREATE', logicalId: r.logicalId });
      steps.push({ kind: 'resource', phase: 'end', action: 'CREATE', logicalId: r.logicalId });
    }
    steps.push({ kind: 'status', status: 'CREATE_COMPLETE' });
    const op = this.startOperation(stack, 'CREATE_STACK', steps, {
      token: options.token,
      delayMs: options.delayMs,
      planKind: 'CREATE',
      onFailure: options.onFailure,
      target: Object.fromEntries(resolved.resources.map((r) => [r.logicalId, r])),
      changeSetId: options.changeSetId,
    });
    op.outputs = resolved.outputs;
    this.setStatus(stack, op, 'CREATE_IN_PROGRESS', 'User Initiated');
    this.schedule(stack, op);
    return op.operationId;
  }

  /**
   * UpdateStack.
   * @throws AwsError ValidationError (not updatable, "No updates are to be performed."),
   * InsufficientCapabilitiesException.
   */
  updateStack(input: UpdateStackInput): OperationStarted {
    const stack = this.get(input.stackName);
    const earlier = this.earlierCall(stack, input.token, 'UpdateStack');
    if (earlier) return { stackId: stack.stackId, operationId: earlier.operationId };
    this.assertUpdatable(stack);
    if (input.usePreviousTemplate && input.templateBody !== undefined) {
      throw validationError('You cannot specify both usePreviousTemplate and Template Body/Template URL');
    }
    const info = input.usePreviousTemplate || input.templateBody === undefined ? stack.info : parseTemplate(input.templateBody);
    const parameters = resolveParameterValues(info, input.parameters, stack.parameters);
    checkCapabilities(info, input.capabilities);
    const definition = this.updatedDefinition(stack, info, parameters, input, stack.outputs);
    if (this.isSameDefinition(stack, info, definition)) throw validationError('No updates are to be performed.');
    const resolved = this.resolve(stack, info, parameters, stack.resources);
    const operationId = this.beginUpdate(stack, info, definition, resolved, {
      token: input.token,
      delayMs: input.delayMs,
      disableRollback: input.disableRollback ?? stack.disableRollback,
    });
    if (input.token) stack.tokens.set(input.token, { action: 'UpdateStack', operationId });
    return { stackId: stack.stackId, operationId };
  }

  /** @throws AwsError ValidationError worded as AWS words it when the stack cannot be updated now. */
  assertUpdatable(stack: StackRecord): void {
    if (!UPDATABLE_STATUSES.has(stack.status)) {
      throw validationError(`Stack:${stack.stackId} is in ${stack.status} state and can not be updated.`);
    }
  }

  /** True when an update would change nothing. */
  isSameDefinition(stack: StackRecord, info: TemplateInfo, definition: StackDefinition): boolean {
    const sameTags =
      stack.tags.length === definition.tags.length &&
      stack.tags.every((t) => definition.tags.some((u) => u.Key === t.Key && u.Value === t.Value));
    return (
      deepEqual(stack.info.doc, info.doc) &&
      deepEqual(stack.parameters, definition.parameters) &&
      sameTags &&
      stack.roleArn === definition.roleArn &&
      deepEqual(stack.notificationArns, definition.notificationArns)
    );
  }

  /** Starts an update operation (UpdateStack or an UPDATE change set). */
  beginUpdate(
    stack: StackRecord,
    info: TemplateInfo,
    definition: StackDefinition,
    resolved: ResolvedTemplate,
    options: { token?: string; delayMs?: number; disableRollback: boolean; changeSetId?: string },
  ): string {
    const previousDefinition = this.definitionOf(stack);
    const previous: Record<string, ResourceRecord> = {};
    for (const [id, r] of stack.resources) previous[id] = structuredClone(r);
    const steps: OperationStep[] = [];
    const target: Record<string, ResolvedResource> = {};
    for (const r of resolved.resources) {
      target[r.logicalId] = r;
      const existing = stack.resources.get(r.logicalId);
      if (!existing || existing.status === 'DELETE_COMPLETE') {
        steps.push({ kind: 'resource', phase: 'begin', action: 'CREATE', logicalId: r.logicalId });
        steps.push({ kind: 'resource', phase: 'end', action: 'CREATE', logicalId: r.logicalId });
      } else if (
        existing.type !== r.type ||
        existing.physicalId !== r.physicalId ||
        !deepEqual(existing.properties, r.properties) ||
        !deepEqual(existing.metadata ?? null, r.metadata ?? null) ||
        existing.status.endsWith('FAILED')
      ) {
        steps.push({ kind: 'resource', phase: 'begin', action: 'UPDATE', logicalId: r.logicalId });
        steps.push({ kind: 'resource', phase: 'end', action: 'UPDATE', logicalId: r.logicalId });
      }
    }
    steps.push({ kind: 'status', status: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS' });
    const removed = [...stack.resources.keys()].filter((id) => !(id in target)).reverse();
    for (const id of removed) {
      steps.push({ kind: 'resource', phase: 'begin', action: 'DELETE', logicalId: id });
      steps.push({ kind: 'resource', phase: 'end', action: 'DELETE', logicalId: id });
    }
    steps.push({ kind: 'status', status: 'UPDATE_COMPLETE' });
    const op = this.startOperation(stack, 'UPDATE_STACK', steps, {
      token: options.token,
      delayMs: options.delayMs,
      planKind: 'UPDATE',
      onFailure: options.disableRollback ? 'DO_NOTHING' : 'ROLLBACK',
      target,
      previous,
      previousDefinition,
      changeSetId: options.changeSetId,
    });
    stack.info = info;
    Object.assign(stack, definition, { outputs: stack.outputs });
    op.outputs = resolved.outputs;
    stack.lastUpdatedTime = Date.now();
    stack.pendingRollback = undefined;
    this.setStatus(stack, op, 'UPDATE_IN_PROGRESS', 'User Initiated');
    this.schedule(stack, op);
    return op.operationId;
  }

  /**
   * DeleteStack: a no-op for a stack that does not exist or is being deleted.
   * @throws AwsError ValidationError while another operation runs or with termination protection.
   */
  deleteStack(input: DeleteStackInput): void {
    const stack = this.find(input.stackName);
    if (!stack || stack.status === 'DELETE_COMPLETE') return;
    if (this.earlierCall(stack, input.token, 'DeleteStack')) return;
    if (stack.status === 'DELETE_IN_PROGRESS') return;
    if (stack.enableTerminationProtection) {
      throw validationError(
        `Stack [${stack.stackName}] cannot be deleted while TerminationProtection is enabled`,
      );
    }
    if (stack.status === 'CREATE_IN_PROGRESS' && stack.operation) {
      // AWS cancels a running create and deletes what it created.
      this.endOperationQuietly(stack, 'CREATE_FAILED', 'Stack creation cancelled');
    } else if (!STABLE_STATUSES.has(stack.status)) {
      throw validationError(`Stack [${stack.stackId}] cannot be deleted while in status ${stack.status}`);
    }
    const retain = new Set(input.retainResources ?? []);
    if (retain.size > 0 && stack.status !== 'DELETE_FAILED') {
      throw validationError(
        'Invalid operation on stack; RetainResources can only be specified when the stack is in the DELETE_FAILED state',
      );
    }
    const steps: OperationStep[] = [];
    const ids = [...stack.resources.keys()].reverse();
    for (const id of ids) {
      const r = stack.resources.get(id) as ResourceRecord;
      if (r.status === 'DELETE_COMPLETE' || r.status === 'DELETE_SKIPPED') continue;
      if (retain.has(id)) {
        r.deletionPolicy = 'Retain';
      }
      steps.push({ kind: 'resource', phase: 'begin', action: 'DELETE', logicalId: id });
      steps.push({ kind: 'resource', phase: 'end', action: 'DELETE', logicalId: id });
    }
    steps.push({ kind: 'status', status: 'DELETE_COMPLETE' });
    const op = this.startOperation(stack, 'DELETE_STACK', steps, {
      token: input.token,
      delayMs: input.delayMs,
      planKind: 'DELETE',
      onFailure: 'DO_NOTHING',
    });
    if (input.token) stack.tokens.set(input.token, { action: 'DeleteStack', operationId: op.operationId });
    this.setStatus(stack, op, 'DELETE_IN_PROGRESS', 'User Initiated');
    this.schedule(stack, op);
  }

  /**
   * ContinueUpdateRollback from UPDATE_ROLLBACK_FAILED.
   * @throws AwsError ValidationError in any other state.
   */
  continueUpdateRollback(input: { stackName: string; resourcesToSkip: string[]; token?: string }): void {
    const stack = this.get(input.stackName);
    if (this.earlierCall(stack, input.token, 'ContinueUpdateRollback')) return;
    if (stack.status !== 'UPDATE_ROLLBACK_FAILED' || !stack.pendingRollback) {
      throw validationError(
        `Stack ${stack.stackId} is in ${stack.status} state and can not continue update rollback. ContinueUpdateRollback can be performed only on UPDATE_ROLLBACK_FAILED stacks.`,
      );
    }
    const pending = stack.pendingRollback;
    const skip = new Set(input.resourcesToSkip);
    const steps: OperationStep[] = [];
    for (const id of pending.toRevert) {
      if (skip.has(id)) continue;
      steps.push({ kind: 'resource', phase: 'begin', action: 'UPDATE', logicalId: id, rollback: true });
      steps.push({ kind: 'resource', phase: 'end', action: 'UPDATE', logicalId: id, rollback: true });
    }
    steps.push({ kind: 'status', status: 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS' });
    for (const id of pending.toDelete) {
      steps.push({ kind: 'resource', phase: 'begin', action: 'DELETE', logicalId: id, rollback: true });
      steps.push({ kind: 'resource', phase: 'end', action: 'DELETE', logicalId: id, rollback: true });
    }
    steps.push({ kind: 'status', status: 'UPDATE_ROLLBACK_COMPLETE' });
    const op = this.startOperation(stack, 'CONTINUE_ROLLBACK', steps, {
      token: input.token,
      planKind: undefined,
      onFailure: 'DO_NOTHING',
      previous: pending.previous,
      previousDefinition: pending.previousDefinition,
    });
    for (const id of skip) {
      const r = stack.resources.get(id);
      if (r) {
        r.status = 'UPDATE_COMPLETE';
        this.resourceEvent(stack, op, r, 'UPDATE_COMPLETE', 'Resource skipped during UpdateRollback');
      }
    }
    stack.pendingRollback = undefined;
    if (input.token) stack.tokens.set(input.token, { action: 'ContinueUpdateRollback', operationId: op.operationId });
    this.setStatus(stack, op, 'UPDATE_ROLLBACK_IN_PROGRESS', 'User Initiated');
    this.schedule(stack, op);
  }

  /** The current definition of a stack (what a rollback restores). */
  definitionOf(stack: StackRecord): StackDefinition {
    return {
      templateBody: stack.templateBody,
      parameters: { ...stack.parameters },
      capabilities: [...stack.capabilities],
      tags: [...stack.tags],
      roleArn: stack.roleArn,
      notificationArns: [...stack.notificationArns],
      description: stack.description,
      outputs: [...stack.outputs],
    };
  }

  /**
   * What a stack becomes under an update or a change set: the new template and parameters, and
   * the stack's own tags, role and notifications where the request names none.
   */
  updatedDefinition(
    stack: StackRecord,
    info: TemplateInfo,
    parameters: Record<string, string>,
    input: { capabilities: string[]; tags?: StackDefinition['tags']; roleArn?: string; notificationArns?: string[] },
    outputs: StackDefinition['outputs'],
  ): StackDefinition {
    return {
      templateBody: info.body,
      parameters,
      capabilities: input.capabilities,
      tags: input.tags ?? stack.tags,
      roleArn: input.roleArn ?? stack.roleArn,
      notificationArns: input.notificationArns ?? stack.notificationArns,
      description: info.description,
      outputs,
    };
  }

  /**
   * Resolves a template for a stack: identities of existing resources are kept, new ones get
   * fresh physical ids.
   */
  resolve(
    stack: StackRecord,
    info: TemplateInfo,
    parameters: Record<string, string>,
    existing: Map<string, ResourceRecord>,
  ): ResolvedTemplate {
    const rctx = { stackName: stack.stackName, region: this.ctx.region, accountId: this.ctx.accountId };
    return resolveTemplate(info, {
      stackName: stack.stackName,
      stackId: stack.stackId,
      region: this.ctx.region,
      accountId: this.ctx.accountId,
      notificationArns: stack.notificationArns,
      parameters,
      importValue: (name) => this.exports.get(name)?.value,
      identify: (logicalId, type, properties) => {
        const prior = existing.get(logicalId);
        return identifyResource(
          rctx,
          logicalId,
          type,
          properties,
          prior && prior.status !== 'DELETE_COMPLETE' && prior.physicalId !== '' ? prior : undefined,
        );
      },
      attribute: (type, identity, name) => genericAttribute(rctx, type, identity, name),
    });
  }

  private startOperation(
    stack: StackRecord,
    type: OperationType,
    steps: OperationStep[],
    options: {
      token?: string;
      delayMs?: number;
      planKind: 'CREATE' | 'UPDATE' | 'DELETE' | undefined;
      onFailure: 'ROLLBACK' | 'DO_NOTHING' | 'DELETE';
      target?: Record<string, ResolvedResource>;
      previous?: Record<string, ResourceRecord>;
      previousDefinition?: StackDefinition;
      changeSetId?: string;
    },
  ): StackOperation {
    const plan = options.planKind ? this.plans.takeStackPlan(stack.stackName, options.planKind) : undefined;
    const total = plan?.delayMs ?? options.delayMs ?? this.ctx.timing.stackOperationMs;
    const operationId = uuid();
    const journalEntry = this.ctx.journal.begin({
      id: operationId,
      kind: 'stack',
      operation: type,
      target: stack.stackName,
      stackId: stack.stackId,
      status: 'IN_PROGRESS',
      clientRequestToken: options.token,
    });
    let failAt: StackOperation['failAt'];
    if (plan?.failAt || plan?.endIn) {
      const defaultReason =
        plan.endIn === 'DELETE_FAILED' || options.planKind === 'DELETE'
          ? 'Resource handler returned message: "Simulated deletion failure" (HandlerErrorCode: GeneralServiceException)'
          : 'Resource handler returned message: "Simulated failure" (HandlerErrorCode: GeneralServiceException)';
      failAt = { logicalResourceId: plan.failAt?.logicalResourceId, reason: plan.failAt?.reason ?? defaultReason };
    }
    const op: StackOperation = {
      operationId,
      type,
      token: options.token,
      startedAt: Date.now(),
      journalId: journalEntry.id,
      steps,
      next: 0,
      stepMs: total / Math.max(1, steps.length),
      dueAt: 0,
      target: options.target ?? {},
      previous: options.previous ?? {},
      previousDefinition: options.previousDefinition,
      touched: [],
      replaced: [],
      failAt,
      endIn: plan?.endIn,
      onFailure: options.onFailure,
      failed: [],
      changeSetId: options.changeSetId,
      held: plan?.hold,
    };
    stack.operation = op;
    stack.lastOperations = [{ type, id: operationId }, ...stack.lastOperations.filter((o) => o.type !== type)].slice(0, 5);
    this.ctx.changed();
    return op;
  }

  /** Schedules the next step of the stack's operation. */
  schedule(stack: StackRecord, op: StackOperation): void {
    if (op.held) return;
    if (op.dueAt === 0) op.dueAt = Date.now() + op.stepMs;
    const delay = op.dueAt - Date.now();
    this.ctx.scheduler.after(delay, () => this.advance(stack.stackId, op.operationId));
  }

  /**
   * Lets a held operation take its steps, timed from now.
   * @returns the operation's id, or undefined when the stack holds none.
   */
  release(stack: StackRecord): string | undefined {
    const op = stack.operation;
    if (!op?.held) return undefined;
    op.held = false;
    op.dueAt = 0;
    this.schedule(stack, op);
    this.ctx.changed();
    return op.operationId;
  }

  private advance(stackId: string, operationId: string): void {
    const stack = this.stacks.get(stackId);
    const op = stack?.operation;
    if (!stack || !op || op.operationId !== operationId) return;
    const step = op.steps[op.next];
    op.next++;
    if (step) this.runStep(stack, op, step);
    if (stack.operation === op) {
      if (op.next >= op.steps.length) {
        // Nothing left but no final status (should not happen): finish as the last status says.
        this.finish(stack, op, stack.status);
        return;
      }
      op.dueAt = Date.now() + op.stepMs;
      this.schedule(stack, op);
    }
    this.ctx.changed();
  }

  private runStep(stack: StackRecord, op: StackOperation, step: OperationStep): void {
    if (step.kind === 'status') {
      this.setStatus(stack, op, step.status, step.reason);
      if (STABLE_STATUSES.has(step.status)) this.finish(stack, op, step.status);
      return;
    }
    if (step.phase === 'begin') this.beginResource(stack, op, step);
    else this.endResource(stack, op, step);
  }

  private event(stack: StackRecord, op: StackOperation | undefined, fields: Omit<StackEvent, 'eventId' | 'timestamp'>): void {
    const timestamp = Date.now();
    const eventId =
      fields.logicalResourceId === stack.stackName && fields.resourceType === STACK_TYPE
        ? uuid()
        : `${fields.logicalResourceId}-${fields.resourceStatus}-${new Date(timestamp).toISOString()}`;
    stack.events.push({
      eventId,
      timestamp,
      ...fields,
      clientRequestToken: op?.token,
      operationId: op?.operationId,
    });
  }

  private setStatus(stack: StackRecord, op: StackOperation | undefined, status: StackStatus, reason?: string): void {
    stack.status = status;
    stack.statusReason = reason;
    this.event(stack, op, {
      logicalResourceId: stack.stackName,
      physicalResourceId: stack.stackId,
      resourceType: STACK_TYPE,
      resourceStatus: status,
      resourceStatusReason: reason,
    });
    if (op) this.ctx.journal.update(op.journalId, status, false);
  }

  private resourceEvent(
    stack: StackRecord,
    op: StackOperation | undefined,
    r: { logicalId: string; physicalId: string; type: string; properties?: JsonObject },
    status: string,
    reason?: string,
    withProperties = false,
  ): void {
    this.event(stack, op, {
      logicalResourceId: r.logicalId,
      physicalResourceId: r.physicalId,
      resourceType: r.type,
      resourceStatus: status,
      resourceStatusReason: reason,
      resourceProperties: withProperties && r.properties ? JSON.stringify(r.properties) : undefined,
    });
  }

  private shouldFail(op: StackOperation, logicalId: string): boolean {
    if (!op.failAt) return false;
    if (op.failAt.logicalResourceId !== undefined && op.failAt.logicalResourceId !== logicalId) return false;
    return true;
  }

  private beginResource(stack: StackRecord, op: StackOperation, step: Extract<OperationStep, { kind: 'resource' }>): void {
    const now = Date.now();
    if (step.action === 'CREATE') {
      const desired = op.target[step.logicalId];
      const record: ResourceRecord = {
        logicalId: desired.logicalId,
        type: desired.type,
        physicalId: '',
        attributes: desired.attributes,
        status: 'CREATE_IN_PROGRESS',
        updatedAt: now,
        properties: desired.properties,
        metadata: desired.metadata,
        dependsOn: desired.dependsOn,
        deletionPolicy: desired.deletionPolicy,
      };
      stack.resources.delete(step.logicalId);
      stack.resources.set(step.logicalId, record);
      this.resourceEvent(stack, op, record, 'CREATE_IN_PROGRESS', undefined, true);
      return;
    }
    if (step.replacedPhysicalId !== undefined) return;
    const record = stack.resources.get(step.logicalId);
    if (!record) return;
    record.updatedAt = now;
    if (step.action === 'UPDATE') {
      const desired = step.rollback ? op.previous[step.logicalId] : op.target[step.logicalId];
      record.status = 'UPDATE_IN_PROGRESS';
      record.statusReason = undefined;
      const replacing = !step.rollback && desired && desired.physicalId !== record.physicalId;
      this.resourceEvent(
        stack,
        op,
        { ...record, properties: desired?.properties },
        'UPDATE_IN_PROGRESS',
        replacing ? 'Requested update requires the creation of a new physical resource; hence creating one.' : undefined,
        true,
      );
      return;
    }
    if (record.deletionPolicy === 'Retain' || record.deletionPolicy === 'RetainExceptOnCreate') {
      return;
    }
    record.status = 'DELETE_IN_PROGRESS';
    record.statusReason = undefined;
    this.resourceEvent(stack, op, record, 'DELETE_IN_PROGRESS');
  }

  private endResource(stack: StackRecord, op: StackOperation, step: Extract<OperationStep, { kind: 'resource' }>): void {
    const now = Date.now();
    if (step.action === 'CREATE') {
      const desired = op.target[step.logicalId];
      const record = stack.resources.get(step.logicalId);
      if (!record || !desired) return;
      record.updatedAt = now;
      if (op.failed.length === 0 && this.shouldFail(op, step.logicalId)) {
        this.fail(stack, op, record, 'CREATE', op.failAt?.reason ?? 'Simulated failure');
        return;
      }
      try {
        this.provisioner.create(stack, { ...desired });
      } catch (error) {
        this.fail(stack, op, record, 'CREATE', (error as Error).message);
        return;
      }
      record.physicalId = desired.physicalId;
      record.attributes = desired.attributes;
      record.status = 'CREATE_COMPLETE';
      this.physicalIndex.set(record.physicalId, { stackId: stack.stackId, logicalId: record.logicalId });
      if (op.type === 'UPDATE_STACK') op.touched.push(record.logicalId);
      this.resourceEvent(stack, op, record, 'CREATE_COMPLETE');
      return;
    }
    if (step.replacedPhysicalId !== undefined) {
      const type = op.replaced.find((r) => r.physicalId === step.replacedPhysicalId)?.type ?? '';
      const old = { logicalId: step.logicalId, physicalId: step.replacedPhysicalId, type };
      this.resourceEvent(stack, op, old, 'DELETE_IN_PROGRESS');
      try {
        this.provisioner.delete(stack, old);
      } catch {
        // A failed cleanup does not fail the update.
      }
      this.physicalIndex.delete(old.physicalId);
      this.resourceEvent(stack, op, old, 'DELETE_COMPLETE');
      return;
    }
    const record = stack.resources.get(step.logicalId);
    if (!record) return;
    record.updatedAt = now;
    if (step.action === 'UPDATE') {
      if (step.rollback) {
        const previous = op.previous[step.logicalId];
        if (op.endIn === 'UPDATE_ROLLBACK_FAILED') {
          op.endIn = undefined;
          record.status = 'UPDATE_FAILED';
          record.statusReason = op.failAt?.reason ?? 'Simulated rollback failure';
          this.resourceEvent(stack, op, record, 'UPDATE_FAILED', record.statusReason);
          const remaining = op.steps.slice(op.next);
          stack.pendingRollback = {
            previous: op.previous,
            previousDefinition: op.previousDefinition,
            toRevert: [step.logicalId, ...endSteps(remaining, 'UPDATE')],
            toDelete: endSteps(remaining, 'DELETE'),
            replaced: op.replaced,
          };
          op.steps = [
            { kind: 'status', status: 'UPDATE_ROLLBACK_FAILED', reason: `The following resource(s) failed to update: [${step.logicalId}]. ` },
          ];
          op.next = 0;
          this.advanceNow(stack, op);
          return;
        }
        if (previous) {
          if (previous.physicalId !== record.physicalId) {
            try {
              this.provisioner.delete(stack, record);
            } catch {
              // Best effort: the replacement is abandoned.
            }
            this.physicalIndex.delete(record.physicalId);
          } else {
            try {
              this.provisioner.update(stack, record, previous);
            } catch {
              // Rollback of the real thing is best effort.
            }
          }
          record.physicalId = previous.physicalId;
          record.attributes = previous.attributes;
          record.properties = previous.properties;
          record.metadata = previous.metadata;
          record.type = previous.type;
          this.physicalIndex.set(record.physicalId, { stackId: stack.stackId, logicalId: record.logicalId });
        }
        record.actual = undefined;
        record.status = 'UPDATE_COMPLETE';
        this.resourceEvent(stack, op, record, 'UPDATE_COMPLETE');
        return;
      }
      const desired = op.target[step.logicalId];
      if (op.failed.length === 0 && this.shouldFail(op, step.logicalId)) {
        this.fail(stack, op, record, 'UPDATE', op.failAt?.reason ?? 'Simulated failure');
        return;
      }
      const replacing = desired.physicalId !== record.physicalId;
      if (record.deletedOutOfBand && !replacing) {
        this.fail(
          stack,
          op,
          record,
          'UPDATE',
          `Resource handler returned message: "Resource of type '${record.type}' with identifier '${record.physicalId}' was not found." (HandlerErrorCode: NotFound)`,
        );
        return;
      }
      try {
        if (replacing) this.provisioner.create(stack, { ...desired });
        else this.provisioner.update(stack, record, desired);
      } catch (error) {
        this.fail(stack, op, record, 'UPDATE', (error as Error).message);
        return;
      }
      if (replacing) {
        op.replaced.push({ logicalId: record.logicalId, physicalId: record.physicalId, type: record.type });
        this.insertCleanupDelete(op, record.logicalId, record.physicalId);
        this.physicalIndex.set(desired.physicalId, { stackId: stack.stackId, logicalId: record.logicalId });
      }
      op.touched.push(record.logicalId);
      record.physicalId = desired.physicalId;
      record.attributes = desired.attributes;
      record.properties = desired.properties;
      record.metadata = desired.metadata;
      record.type = desired.type;
      record.dependsOn = desired.dependsOn;
      record.deletionPolicy = desired.deletionPolicy;
      record.actual = undefined;
      record.deletedOutOfBand = undefined;
      record.status = 'UPDATE_COMPLETE';
      this.resourceEvent(stack, op, record, 'UPDATE_COMPLETE');
      return;
    }
    // DELETE
    if (record.deletionPolicy === 'Retain' || record.deletionPolicy === 'RetainExceptOnCreate') {
      record.status = 'DELETE_SKIPPED';
      this.resourceEvent(stack, op, record, 'DELETE_SKIPPED');
      this.physicalIndex.delete(record.physicalId);
      if (op.type !== 'DELETE_STACK') stack.resources.delete(record.logicalId);
      return;
    }
    const rollbackFailure =
      (op.endIn === 'ROLLBACK_FAILED' && op.failed.length > 0 && op.type === 'CREATE_STACK') ||
      (op.endIn === 'UPDATE_ROLLBACK_FAILED' && op.type === 'UPDATE_STACK' && step.rollback === true);
    const deleteFailure = op.type === 'DELETE_STACK' && (op.endIn === 'DELETE_FAILED' || this.shouldFail(op, record.logicalId));
    let failure: string | undefined;
    if (rollbackFailure || deleteFailure) failure = op.failAt?.reason ?? 'Simulated deletion failure';
    if (!failure && record.physicalId !== '' && !record.deletedOutOfBand) {
      try {
        this.provisioner.delete(stack, record);
      } catch (error) {
        failure = (error as Error).message;
      }
    }
    if (failure !== undefined) {
      op.endIn = undefined;
      op.failAt = undefined;
      record.status = 'DELETE_FAILED';
      record.statusReason = failure;
      this.resourceEvent(stack, op, record, 'DELETE_FAILED', failure);
      if (op.type === 'DELETE_STACK') {
        op.steps = [
          { kind: 'status', status: 'DELETE_FAILED', reason: `The following resource(s) failed to delete: [${record.logicalId}]. ` },
        ];
        op.next = 0;
        this.advanceNow(stack, op);
      } else if (op.type === 'CREATE_STACK') {
        op.steps = [
          { kind: 'status', status: 'ROLLBACK_FAILED', reason: `The following resource(s) failed to delete: [${record.logicalId}]. ` },
        ];
        op.next = 0;
        this.advanceNow(stack, op);
      } else if (op.type === 'UPDATE_STACK' && step.rollback) {
        const remaining = op.steps.slice(op.next);
        stack.pendingRollback = {
          previous: op.previous,
          previousDefinition: op.previousDefinition,
          toRevert: [],
          toDelete: [record.logicalId, ...endSteps(remaining, 'DELETE')],
          replaced: op.replaced,
        };
        op.steps = [
          { kind: 'status', status: 'UPDATE_ROLLBACK_FAILED', reason: `The following resource(s) failed to delete: [${record.logicalId}]. ` },
        ];
        op.next = 0;
        this.advanceNow(stack, op);
      }
      return;
    }
    record.status = 'DELETE_COMPLETE';
    this.resourceEvent(stack, op, record, 'DELETE_COMPLETE');
    this.physicalIndex.delete(record.physicalId);
    if (op.type !== 'DELETE_STACK') stack.resources.delete(record.logicalId);
  }

  /** Puts a delete of a replaced physical resource into the cleanup phase of an update. */
  private insertCleanupDelete(op: StackOperation, logicalId: string, physicalId: string): void {
    const cleanup = op.steps.findIndex((s) => s.kind === 'status' && s.status === 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
    if (cleanup < 0) return;
    op.steps.splice(
      cleanup + 1,
      0,
      { kind: 'resource', phase: 'begin', action: 'DELETE', logicalId, replacedPhysicalId: physicalId },
      { kind: 'resource', phase: 'end', action: 'DELETE', logicalId, replacedPhysicalId: physicalId },
    );
  }

  /** Runs the next step at once (used right after a failure, as AWS moves to rollback at once). */
  private advanceNow(stack: StackRecord, op: StackOperation): void {
    const step = op.steps[op.next];
    op.next++;
    if (step) this.runStep(stack, op, step);
  }

  private fail(stack: StackRecord, op: StackOperation, record: ResourceRecord, action: 'CREATE' | 'UPDATE', reason: string): void {
    record.status = action === 'CREATE' ? 'CREATE_FAILED' : 'UPDATE_FAILED';
    record.statusReason = reason;
    op.failed.push(record.logicalId);
    this.resourceEvent(stack, op, record, record.status, reason);
    const failedList = `[${op.failed.join(', ')}]`;
    const verb = action === 'CREATE' ? 'create' : 'update';
    const steps: OperationStep[] = [];
    if (op.type === 'CREATE_STACK') {
      if (op.onFailure === 'DO_NOTHING') {
        steps.push({ kind: 'status', status: 'CREATE_FAILED', reason: `The following resource(s) failed to create: ${failedList}. ` });
      } else {
        const deleting = op.onFailure === 'DELETE';
        steps.push({
          kind: 'status',
          status: deleting ? 'DELETE_IN_PROGRESS' : 'ROLLBACK_IN_PROGRESS',
          reason: `The following resource(s) failed to create: ${failedList}. ${deleting ? 'Delete requested by user.' : 'Rollback requested by user.'}`,
        });
        for (const id of [...stack.resources.keys()].reverse()) {
          steps.push({ kind: 'resource', phase: 'begin', action: 'DELETE', logicalId: id, rollback: true });
          steps.push({ kind: 'resource', phase: 'end', action: 'DELETE', logicalId: id, rollback: true });
        }
        steps.push({ kind: 'status', status: deleting ? 'DELETE_COMPLETE' : 'ROLLBACK_COMPLETE' });
      }
    } else if (op.type === 'UPDATE_STACK') {
      if (op.onFailure === 'DO_NOTHING') {
        steps.push({ kind: 'status', status: 'UPDATE_FAILED', reason: `The following resource(s) failed to ${verb}: ${failedList}. ` });
      } else {
        steps.push({
          kind: 'status',
          status: 'UPDATE_ROLLBACK_IN_PROGRESS',
          reason: `The following resource(s) failed to ${verb}: ${failedList}. `,
        });
        const existedBefore = (id: string): boolean => id in op.previous && op.previous[id].status !== 'DELETE_COMPLETE';
        const toRevert = [...op.touched.filter(existedBefore), ...(action === 'UPDATE' ? [record.logicalId] : [])].reverse();
        for (const id of toRevert) {
          steps.push({ kind: 'resource', phase: 'begin', action: 'UPDATE', logicalId: id, rollback: true });
          steps.push({ kind: 'resource', phase: 'end', action: 'UPDATE', logicalId: id, rollback: true });
        }
        steps.push({ kind: 'status', status: 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS' });
        const toDelete = [...op.touched.filter((id) => !existedBefore(id)), ...(action === 'CREATE' ? [record.logicalId] : [])].reverse();
        for (const id of toDelete) {
          steps.push({ kind: 'resource', phase: 'begin', action: 'DELETE', logicalId: id, rollback: true });
          steps.push({ kind: 'resource', phase: 'end', action: 'DELETE', logicalId: id, rollback: true });
        }
        steps.push({ kind: 'status', status: 'UPDATE_ROLLBACK_COMPLETE' });
        op.replaced = [];
      }
    } else {
      steps.push({ kind: 'status', status: 'UPDATE_FAILED', reason: `The following resource(s) failed to ${verb}: ${failedList}. ` });
    }
    op.steps = steps;
    op.next = 0;
    this.advanceNow(stack, op);
  }

  private finish(stack: StackRecord, op: StackOperation, status: StackStatus): void {
    if (stack.operation !== op) return;
    stack.operation = undefined;
    if ((status === 'CREATE_COMPLETE' || status === 'UPDATE_COMPLETE') && op.outputs) stack.outputs = op.outputs;
    if (status === 'UPDATE_ROLLBACK_COMPLETE' && op.previousDefinition) this.restoreDefinition(stack, op.previousDefinition);
    if (status === 'CREATE_COMPLETE' || status === 'UPDATE_COMPLETE' || status === 'UPDATE_ROLLBACK_COMPLETE') {
      this.refreshExports(stack);
    }
    if (status === 'ROLLBACK_COMPLETE' || status === 'ROLLBACK_FAILED' || status === 'CREATE_FAILED') stack.outputs = [];
    if (status === 'DELETE_COMPLETE') {
      stack.deletionTime = Date.now();
      stack.outputs = [];
      this.byName.delete(stack.stackName);
      this.refreshExports(stack);
      for (const r of stack.resources.values()) this.physicalIndex.delete(r.physicalId);
      for (const cs of stack.changeSets.values()) cs.status = 'DELETE_COMPLETE';
    }
    const failureEvent = [...stack.events].reverse().find((e) => e.operationId === op.operationId && e.resourceStatus.endsWith('_FAILED') && e.resourceType !== STACK_TYPE);
    this.ctx.journal.update(op.journalId, status, true);
    this.ctx.changed();
    const listeners = this.listeners.get(op.operationId);
    this.listeners.delete(op.operationId);
    for (const listener of listeners ?? []) {
      try {
        listener(stack, status, failureEvent?.resourceStatusReason);
      } catch (error) {
        this.ctx.log('error', 'operation listener failed', { error: String(error) });
      }
    }
  }

  /** Ends a running operation without its remaining steps (a create cancelled by DeleteStack). */
  private endOperationQuietly(stack: StackRecord, status: StackStatus, reason: string): void {
    const op = stack.operation;
    if (!op) return;
    for (const r of stack.resources.values()) {
      if (r.status === 'CREATE_IN_PROGRESS') {
        r.status = 'CREATE_FAILED';
        r.statusReason = 'Resource creation cancelled';
        this.resourceEvent(stack, op, r, 'CREATE_FAILED', r.statusReason);
      }
    }
    this.setStatus(stack, op, status, reason);
    this.finish(stack, op, status);
  }

  private restoreDefinition(stack: StackRecord, definition: StackDefinition): void {
    Object.assign(stack, definition);
    stack.info = parseTemplate(definition.templateBody);
  }

  private refreshExports(stack: StackRecord): void {
    for (const [name, exp] of this.exports) if (exp.stackId === stack.stackId) this.exports.delete(name);
    if (stack.status === 'DELETE_COMPLETE') return;
    for (const output of stack.outputs) {
      if (output.exportName) this.exports.set(output.exportName, { stackId: stack.stackId, value: output.value });
    }
  }

  /** Marks a resource's live state as changed or deleted (drift injection). */
  injectDrift(input: { stackName: string; logicalResourceId: string; property?: string; value?: Json; deleted?: boolean }): ResourceRecord {
    const stack = this.get(input.stackName);
    const record = stack.resources.get(input.logicalResourceId);
    if (!record) throw validationError(`Resource ${input.logicalResourceId} does not exist for stack ${input.stackName}`);
    if (input.deleted) record.deletedOutOfBand = true;
    if (input.property !== undefined) {
      const actual = structuredClone(record.actual ?? record.properties ?? {});
      setPath(actual, input.property, input.value);
      record.actual = actual;
    }
    this.ctx.changed();
    return record;
  }

  /** Forgets everything. */
  clear(): void {
    this.stacks.clear();
    this.byName.clear();
    this.physicalIndex.clear();
    this.exports.clear();
    this.listeners.clear();
  }

  /** Stacks, plans and exports as JSON for the state file. */
  snapshot(): Json {
    const stacks: Json[] = [];
    for (const stack of this.stacks.values()) {
      const { info: _info, resources, tokens, changeSets, ...rest } = stack;
      stacks.push({
        ...(rest as unknown as JsonObject),
        resources: [...resources.values()] as unknown as Json,
        tokens: [...tokens.entries()] as unknown as Json,
        changeSets: [...changeSets.values()] as unknown as Json,
      } as JsonObject);
    }
    return { stacks };
  }

  /** Restores what `snapshot` returned and resumes running operations. */
  restore(data: Json): void {
    this.clear();
    const d = data as { stacks?: JsonObject[] };
    for (const raw of d.stacks ?? []) {
      const r = raw as unknown as StackRecord & { resources: ResourceRecord[]; tokens: [string, { action: string; operationId?: string }][]; changeSets: StackRecord['changeSets'] extends Map<string, infer C> ? C[] : never };
      const stack: StackRecord = {
        ...r,
        info: parseTemplate(r.templateBody),
        resources: new Map(r.resources.map((res) => [res.logicalId, res])),
        tokens: new Map(r.tokens),
        changeSets: new Map(r.changeSets.map((cs) => [cs.changeSetName, cs])),
      };
      this.stacks.set(stack.stackId, stack);
      if (stack.status !== 'DELETE_COMPLETE') {
        this.byName.set(stack.stackName, stack.stackId);
        for (const res of stack.resources.values()) {
          if (res.physicalId) this.physicalIndex.set(res.physicalId, { stackId: stack.stackId, logicalId: res.logicalId });
        }
        this.refreshExports(stack);
      }
    }
    for (const stack of this.stacks.values()) if (stack.operation) this.schedule(stack, stack.operation);
  }
}

/** Logical ids of the resource steps of an action that finish (the 'end' halves). */
function endSteps(steps: OperationStep[], action: 'UPDATE' | 'DELETE'): string[] {
  const out: string[] = [];
  for (const s of steps) if (s.kind === 'resource' && s.action === action && s.phase === 'end') out.push(s.logicalId);
  return out;
}
