import type { EmulatorContext } from '../context';
import { AwsError, validationError } from '../errors';
import { deepEqual } from '../json';
import { uuid } from '../random';
import { checkCapabilities, parseTemplate, resolveParameterValues, type ParameterInput } from '../template';
import type { CloudFormationEngine } from './engine';
import type { ChangeRecord, ChangeSetRecord, StackRecord, Tag } from './model';

/** Input of CreateChangeSet. */
export interface CreateChangeSetInput {
  stackName: string;
  changeSetName: string;
  changeSetType: 'CREATE' | 'UPDATE';
  templateBody?: string;
  templateUrl?: string;
  usePreviousTemplate?: boolean;
  parameters: ParameterInput[];
  capabilities: string[];
  tags?: Tag[];
  roleArn?: string;
  notificationArns?: string[];
  description?: string;
  clientToken?: string;
  onStackFailure?: 'DO_NOTHING' | 'ROLLBACK' | 'DELETE';
}

function notFound(name: string): AwsError {
  return new AwsError('ChangeSetNotFound', `ChangeSet [${name}] does not exist`, 404);
}

/** Change sets: created asynchronously, described, executed as a stack operation, deleted. */
export class ChangeSetService {
  /** Change set ARN → stack id and name. */
  private readonly byId = new Map<string, { stackId: string; name: string }>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly cfn: CloudFormationEngine,
  ) {}

  /**
   * CreateChangeSet. A CREATE change set for a new stack creates the stack in REVIEW_IN_PROGRESS.
   * @throws AwsError ValidationError, AlreadyExistsException, InsufficientCapabilitiesException.
   */
  create(input: CreateChangeSetInput): { id: string; stackId: string } {
    let stack = this.cfn.find(input.stackName);
    if (input.clientToken && stack) {
      for (const cs of stack.changeSets.values()) {
        if (cs.token === input.clientToken && cs.changeSetName === input.changeSetName) return { id: cs.changeSetId, stackId: stack.stackId };
      }
    }
    if (!/^[a-zA-Z][-a-zA-Z0-9]*$/.test(input.changeSetName) || input.changeSetName.length > 128) {
      throw validationError(
        `1 validation error detected: Value '${input.changeSetName}' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*`,
      );
    }
    if (input.changeSetType === 'CREATE') {
      if (stack && stack.status !== 'REVIEW_IN_PROGRESS') {
        throw validationError(`Stack [${input.stackName}] already exists and cannot be created again with the changeSet [${input.changeSetName}].`);
      }
    } else {
      if (!stack) throw validationError(`Stack [${input.stackName}] does not exist`);
      if (stack.status === 'REVIEW_IN_PROGRESS' || !['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'UPDATE_FAILED', 'IMPORT_COMPLETE'].includes(stack.status)) {
        throw validationError(`Stack:${stack.stackId} is in ${stack.status} state and can not be updated.`);
      }
    }
    if (stack?.changeSets.has(input.changeSetName)) {
      throw new AwsError('AlreadyExistsException', `ChangeSet [${input.changeSetName}] already exists`, 400);
    }
    const info =
      input.usePreviousTemplate && stack
        ? stack.info
        : this.cfn.loadTemplate(input.templateBody, input.templateUrl);
    const parameters = resolveParameterValues(info, input.parameters, stack?.parameters);
    checkCapabilities(info, input.capabilities);
    if (!stack) {
      stack = this.cfn.newStack(input.stackName, info, 'REVIEW_IN_PROGRESS');
      this.cfn.register(stack);
      stack.events.push({
        eventId: uuid(),
        timestamp: Date.now(),
        logicalResourceId: stack.stackName,
        physicalResourceId: stack.stackId,
        resourceType: 'AWS::CloudFormation::Stack',
        resourceStatus: 'REVIEW_IN_PROGRESS',
        resourceStatusReason: 'User Initiated',
      });
    }
    const definition = this.cfn.updatedDefinition(stack, info, parameters, input, []);
    const resolved = this.cfn.resolve(stack, info, parameters, input.changeSetType === 'CREATE' ? new Map() : stack.resources);
    const changes = this.diff(stack, input.changeSetType, resolved.resources);
    const unchanged = input.changeSetType === 'UPDATE' && changes.length === 0 && this.cfn.isSameDefinition(stack, info, definition);
    const record: ChangeSetRecord = {
      changeSetId: `arn:aws:cloudformation:${this.ctx.region}:${this.ctx.accountId}:changeSet/${input.changeSetName}/${uuid()}`,
      changeSetName: input.changeSetName,
      stackId: stack.stackId,
      stackName: stack.stackName,
      description: input.description,
      changeSetType: input.changeSetType,
      creationTime: Date.now(),
      status: 'CREATE_PENDING',
      executionStatus: 'UNAVAILABLE',
      definition,
      changes,
      token: input.clientToken,
      onStackFailure: input.onStackFailure,
    };
    stack.changeSets.set(record.changeSetName, record);
    this.byId.set(record.changeSetId, { stackId: stack.stackId, name: record.changeSetName });
    const half = this.ctx.timing.changeSetMs / 2;
    this.ctx.scheduler.after(half, () => {
      if (record.status === 'CREATE_PENDING') record.status = 'CREATE_IN_PROGRESS';
      this.ctx.scheduler.after(half, () => {
        if (record.status !== 'CREATE_IN_PROGRESS') return;
        if (unchanged) {
          record.status = 'FAILED';
          record.statusReason = "The submitted information didn't contain changes. Submit different information to create a change set.";
        } else {
          record.status = 'CREATE_COMPLETE';
          record.executionStatus = 'AVAILABLE';
        }
        this.ctx.changed();
      });
    });
    this.ctx.changed();
    return { id: record.changeSetId, stackId: stack.stackId };
  }

  private diff(stack: StackRecord, type: 'CREATE' | 'UPDATE', resources: { logicalId: string; type: string; physicalId: string; properties?: Record<string, unknown> }[]): ChangeRecord[] {
    const changes: ChangeRecord[] = [];
    const seen = new Set<string>();
    for (const r of resources) {
      seen.add(r.logicalId);
      const existing = type === 'UPDATE' ? stack.resources.get(r.logicalId) : undefined;
      if (!existing) {
        changes.push({ action: 'Add', logicalId: r.logicalId, type: r.type, details: [] });
        continue;
      }
      const before = (existing.properties ?? {}) as Record<string, unknown>;
      const after = (r.properties ?? {}) as Record<string, unknown>;
      const replacement = existing.physicalId !== r.physicalId || existing.type !== r.type;
      const details: ChangeRecord['details'] = [];
      for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
        if (deepEqual(before[key] as never, after[key] as never)) continue;
        details.push({
          name: key,
          requiresRecreation: replacement ? 'Always' : 'Never',
          before: before[key] === undefined ? undefined : JSON.stringify(before[key]),
          after: after[key] === undefined ? undefined : JSON.stringify(after[key]),
        });
      }
      if (details.length > 0 || replacement) {
        changes.push({
          action: 'Modify',
          logicalId: r.logicalId,
          physicalId: existing.physicalId,
          type: r.type,
          replacement: replacement ? 'True' : 'False',
          details,
        });
      }
    }
    if (type === 'UPDATE') {
      for (const existing of stack.resources.values()) {
        if (seen.has(existing.logicalId) || existing.status === 'DELETE_COMPLETE') continue;
        changes.push({ action: 'Remove', logicalId: existing.logicalId, physicalId: existing.physicalId, type: existing.type, details: [] });
      }
    }
    return changes;
  }

  /** Finds a change set by ARN, or by name within a stack. @throws AwsError ChangeSetNotFound, ValidationError. */
  find(nameOrArn: string, stackName?: string): { stack: StackRecord; changeSet: ChangeSetRecord } {
    if (nameOrArn.startsWith('arn:')) {
      const ref = this.byId.get(nameOrArn);
      const stack = ref ? this.cfn.stacks.get(ref.stackId) : undefined;
      const changeSet = ref && stack ? stack.changeSets.get(ref.name) : undefined;
      if (!stack || !changeSet || changeSet.changeSetId !== nameOrArn) throw notFound(nameOrArn);
      return { stack, changeSet };
    }
    if (!stackName) {
      throw validationError('StackName must be specified if ChangeSetName is not specified as an ARN.');
    }
    const stack = this.cfn.find(stackName);
    if (!stack) throw notFound(nameOrArn);
    const changeSet = stack.changeSets.get(nameOrArn);
    if (!changeSet) throw notFound(nameOrArn);
    return { stack, changeSet };
  }

  /**
   * ExecuteChangeSet: runs the change set as a create or update operation.
   * @throws AwsError ChangeSetNotFound, InvalidChangeSetStatus, ValidationError.
   */
  execute(input: { changeSetName: string; stackName?: string; token?: string; disableRollback?: boolean }): void {
    const { stack, changeSet } = this.find(input.changeSetName, input.stackName);
    if (this.cfn.earlierCall(stack, input.token, 'ExecuteChangeSet')) return;
    if (changeSet.status !== 'CREATE_COMPLETE' || changeSet.executionStatus !== 'AVAILABLE') {
      throw new AwsError(
        'InvalidChangeSetStatus',
        `ChangeSet [${changeSet.changeSetId}] cannot be executed in its current status of [${changeSet.status}]`,
        400,
      );
    }
    const definition = changeSet.definition;
    const info = parseTemplate(definition.templateBody);
    let operationId: string;
    if (changeSet.changeSetType === 'CREATE') {
      Object.assign(stack, definition, { info, disableRollback: input.disableRollback ?? false });
      const resolved = this.cfn.resolve(stack, info, definition.parameters, new Map());
      operationId = this.cfn.beginCreate(stack, resolved, {
        token: input.token,
        onFailure: input.disableRollback ? 'DO_NOTHING' : (changeSet.onStackFailure ?? 'ROLLBACK'),
        initialStatus: true,
        changeSetId: changeSet.changeSetId,
      });
    } else {
      this.cfn.assertUpdatable(stack);
      const resolved = this.cfn.resolve(stack, info, definition.parameters, stack.resources);
      operationId = this.cfn.beginUpdate(stack, info, { ...definition, outputs: stack.outputs }, resolved, {
        token: input.token,
        disableRollback: input.disableRollback ?? stack.disableRollback,
        changeSetId: changeSet.changeSetId,
      });
    }
    if (input.token) stack.tokens.set(input.token, { action: 'ExecuteChangeSet', operationId });
    stack.changeSetId = changeSet.changeSetId;
    changeSet.executionStatus = 'EXECUTE_IN_PROGRESS';
    // AWS removes the stack's other change sets once one is executed.
    for (const [name, other] of stack.changeSets) {
      if (other !== changeSet) {
        stack.changeSets.delete(name);
        this.byId.delete(other.changeSetId);
      }
    }
    this.cfn.onOperationEnd(operationId, (_stack, status) => {
      changeSet.executionStatus = status === 'CREATE_COMPLETE' || status === 'UPDATE_COMPLETE' ? 'EXECUTE_COMPLETE' : 'EXECUTE_FAILED';
    });
    this.ctx.changed();
  }

  /** DeleteChangeSet. @throws AwsError ChangeSetNotFound, InvalidChangeSetStatus. */
  delete(input: { changeSetName: string; stackName?: string }): void {
    const { stack, changeSet } = this.find(input.changeSetName, input.stackName);
    if (changeSet.executionStatus === 'EXECUTE_IN_PROGRESS') {
      throw new AwsError(
        'InvalidChangeSetStatus',
        `ChangeSet [${changeSet.changeSetId}] cannot be deleted in its current status of [EXECUTE_IN_PROGRESS]`,
        400,
      );
    }
    stack.changeSets.delete(changeSet.changeSetName);
    this.byId.delete(changeSet.changeSetId);
    this.ctx.changed();
  }

  /** Rebuilds the ARN index after a restore. */
  reindex(): void {
    this.byId.clear();
    for (const stack of this.cfn.stacks.values()) {
      for (const cs of stack.changeSets.values()) {
        this.byId.set(cs.changeSetId, { stackId: stack.stackId, name: cs.changeSetName });
        // Timers do not survive a restart: a change set still being computed is ready now.
        if (cs.status === 'CREATE_PENDING' || cs.status === 'CREATE_IN_PROGRESS') {
          cs.status = 'CREATE_COMPLETE';
          cs.executionStatus = 'AVAILABLE';
        }
      }
    }
  }

  /** Forgets everything. */
  clear(): void {
    this.byId.clear();
  }
}
