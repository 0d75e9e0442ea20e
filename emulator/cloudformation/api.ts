import { AwsError, validationError } from '../errors';
import { qBool, qInt, qList, qString, qStrings, type QueryObject } from '../query';
import type { ParameterInput } from '../template';
import type { XmlValue } from '../xml';
import type { ChangeSetService } from './changesets';
import type { DriftService } from './drift';
import type { CloudFormationEngine } from './engine';
import type { ResourceRecord, StackRecord, Tag } from './model';

/**
 * The CloudFormation query API: reads each action's form parameters, calls the engine and
 * returns the `<ActionResult>` content (undefined for actions without a result).
 */

/** The services one region's CloudFormation API calls. */
export interface CloudFormationServices {
  engine: CloudFormationEngine;
  changeSets: ChangeSetService;
  drift: DriftService;
}

type Handler = (s: CloudFormationServices, q: QueryObject) => XmlValue | undefined;

const PAGE = 100;

function required(q: QueryObject, key: string, member: string): string {
  const value = qString(q, key);
  if (value === undefined || value === '') {
    throw validationError(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

function parameters(q: QueryObject): ParameterInput[] {
  return qList(q, 'Parameters').map((p) => ({
    key: qString(p, 'ParameterKey') ?? '',
    value: qString(p, 'ParameterValue'),
    usePreviousValue: qBool(p, 'UsePreviousValue'),
  }));
}

function tags(q: QueryObject): Tag[] | undefined {
  if (q.Tags === undefined) return undefined;
  return qList(q, 'Tags').map((t) => ({ Key: qString(t, 'Key') ?? '', Value: qString(t, 'Value') ?? '' }));
}

function page<T>(items: T[], token: string | undefined, size = PAGE): { items: T[]; next?: string } {
  const start = token ? Number(Buffer.from(token, 'base64').toString('utf8')) || 0 : 0;
  const slice = items.slice(start, start + size);
  const next = start + size < items.length ? Buffer.from(String(start + size)).toString('base64') : undefined;
  return { items: slice, next };
}

function date(ms: number | undefined): Date | undefined {
  return ms === undefined ? undefined : new Date(ms);
}

/** A stack as DescribeStacks renders it. */
export function renderStack(stack: StackRecord): XmlValue {
  return {
    StackId: stack.stackId,
    StackName: stack.stackName,
    ChangeSetId: stack.changeSetId,
    Description: stack.description,
    Parameters: [...stack.info.parameters.keys()]
      .filter((key) => key in stack.parameters)
      .map((key) => ({
        ParameterKey: key,
        ParameterValue: stack.info.parameters.get(key)?.noEcho ? '****' : stack.parameters[key],
      })),
    CreationTime: new Date(stack.creationTime),
    DeletionTime: date(stack.deletionTime),
    LastUpdatedTime: date(stack.lastUpdatedTime),
    RollbackConfiguration: {},
    StackStatus: stack.status,
    StackStatusReason: stack.statusReason,
    DisableRollback: stack.disableRollback,
    NotificationARNs: stack.notificationArns,
    TimeoutInMinutes: stack.timeoutInMinutes,
    Capabilities: stack.capabilities,
    Outputs: stack.outputs.map((o) => ({ OutputKey: o.key, OutputValue: o.value, Description: o.description, ExportName: o.exportName })),
    RoleARN: stack.roleArn,
    Tags: stack.tags.map((t) => ({ Key: t.Key, Value: t.Value })),
    EnableTerminationProtection: stack.enableTerminationProtection,
    DriftInformation: { StackDriftStatus: stack.driftStatus, LastCheckTimestamp: date(stack.driftCheckedAt) },
    LastOperations: stack.lastOperations.map((o) => ({ OperationType: o.type, OperationId: o.id })),
  };
}

function renderResource(stack: StackRecord, r: ResourceRecord): XmlValue {
  return {
    StackName: stack.stackName,
    StackId: stack.stackId,
    LogicalResourceId: r.logicalId,
    PhysicalResourceId: r.physicalId || undefined,
    ResourceType: r.type,
    Timestamp: new Date(r.updatedAt),
    ResourceStatus: r.status,
    ResourceStatusReason: r.statusReason,
    DriftInformation: {
      StackResourceDriftStatus: r.drift?.status ?? 'NOT_CHECKED',
      LastCheckTimestamp: date(r.drift?.checkedAt),
    },
  };
}

function templateSource(q: QueryObject): { body?: string; url?: string } {
  return { body: qString(q, 'TemplateBody'), url: qString(q, 'TemplateURL') };
}

function body(s: CloudFormationServices, q: QueryObject): string | undefined {
  const { body: text, url } = templateSource(q);
  if (text !== undefined && url !== undefined) throw validationError('Specify exactly one of TemplateBody or TemplateUrl.');
  if (url !== undefined) return s.engine.fetchTemplate(url);
  return text;
}

const handlers: Record<string, Handler> = {
  CreateStack(s, q) {
    const templateBody = body(s, q);
    if (templateBody === undefined) throw validationError('Either Template URL or Template Body must be specified.');
    const onFailure = qString(q, 'OnFailure') as 'DO_NOTHING' | 'ROLLBACK' | 'DELETE' | undefined;
    const disableRollback = qBool(q, 'DisableRollback');
    if (onFailure !== undefined && disableRollback !== undefined) {
      throw validationError('You can specify either DisableRollback or OnFailure, but not both.');
    }
    const started = s.engine.createStack({
      stackName: required(q, 'StackName', 'stackName'),
      templateBody,
      parameters: parameters(q),
      capabilities: qStrings(q, 'Capabilities'),
      tags: tags(q) ?? [],
      roleArn: qString(q, 'RoleARN'),
      notificationArns: qStrings(q, 'NotificationARNs'),
      disableRollback,
      onFailure,
      timeoutInMinutes: qInt(q, 'TimeoutInMinutes'),
      enableTerminationProtection: qBool(q, 'EnableTerminationProtection'),
      token: qString(q, 'ClientRequestToken'),
    });
    return { StackId: started.stackId, OperationId: started.operationId };
  },
  UpdateStack(s, q) {
    const started = s.engine.updateStack({
      stackName: required(q, 'StackName', 'stackName'),
      templateBody: body(s, q),
      usePreviousTemplate: qBool(q, 'UsePreviousTemplate'),
      parameters: parameters(q),
      capabilities: qStrings(q, 'Capabilities'),
      tags: tags(q),
      roleArn: qString(q, 'RoleARN'),
      notificationArns: q.NotificationARNs === undefined ? undefined : qStrings(q, 'NotificationARNs'),
      disableRollback: qBool(q, 'DisableRollback'),
      token: qString(q, 'ClientRequestToken'),
    });
    return { StackId: started.stackId, OperationId: started.operationId };
  },
  DeleteStack(s, q) {
    s.engine.deleteStack({
      stackName: required(q, 'StackName', 'stackName'),
      retainResources: qStrings(q, 'RetainResources'),
      roleArn: qString(q, 'RoleARN'),
      token: qString(q, 'ClientRequestToken'),
      deletionMode: qString(q, 'DeletionMode') as 'STANDARD' | 'FORCE_DELETE_STACK' | undefined,
    });
    return undefined;
  },
  DescribeStacks(s, q) {
    const name = qString(q, 'StackName');
    if (name) return { Stacks: [renderStack(s.engine.get(name))] };
    const { items, next } = page(s.engine.liveStacks(), qString(q, 'NextToken'));
    return { Stacks: items.map(renderStack), NextToken: next };
  },
  ListExports(s, q) {
    const all = [...s.engine.exports].map(([name, exp]) => ({ ExportingStackId: exp.stackId, Name: name, Value: exp.value }));
    const { items, next } = page(all, qString(q, 'NextToken'));
    return { Exports: items, NextToken: next };
  },
  ListStacks(s, q) {
    const filter = qStrings(q, 'StackStatusFilter');
    const all = [...s.engine.stacks.values()].reverse().filter((st) => filter.length === 0 || filter.includes(st.status));
    const { items, next } = page(all, qString(q, 'NextToken'));
    return {
      StackSummaries: items.map((st) => ({
        StackId: st.stackId,
        StackName: st.stackName,
        TemplateDescription: st.description,
        CreationTime: new Date(st.creationTime),
        LastUpdatedTime: date(st.lastUpdatedTime),
        DeletionTime: date(st.deletionTime),
        StackStatus: st.status,
        StackStatusReason: st.statusReason,
        DriftInformation: { StackDriftStatus: st.driftStatus, LastCheckTimestamp: date(st.driftCheckedAt) },
        LastOperations: st.lastOperations.map((o) => ({ OperationType: o.type, OperationId: o.id })),
      })),
      NextToken: next,
    };
  },
  DescribeStackEvents(s, q) {
    const stack = s.engine.get(required(q, 'StackName', 'stackName'));
    const events = stack.events;
    const start = (() => {
      const token = qString(q, 'NextToken');
      return token ? Number(Buffer.from(token, 'base64').toString('utf8')) || 0 : 0;
    })();
    const out: XmlValue[] = [];
    for (let i = events.length - 1 - start; i >= 0 && out.length < PAGE; i--) {
      const e = events[i];
      out.push({
        StackId: stack.stackId,
        EventId: e.eventId,
        StackName: stack.stackName,
        OperationId: e.operationId,
        LogicalResourceId: e.logicalResourceId,
        PhysicalResourceId: e.physicalResourceId,
        ResourceType: e.resourceType,
        Timestamp: new Date(e.timestamp),
        ResourceStatus: e.resourceStatus,
        ResourceStatusReason: e.resourceStatusReason,
        ResourceProperties: e.resourceProperties,
        ClientRequestToken: e.clientRequestToken,
      });
    }
    const consumed = start + out.length;
    return { StackEvents: out, NextToken: consumed < events.length ? Buffer.from(String(consumed)).toString('base64') : undefined };
  },
  DescribeStackResources(s, q) {
    const name = qString(q, 'StackName');
    const physicalId = qString(q, 'PhysicalResourceId');
    const logicalId = qString(q, 'LogicalResourceId');
    let stack: StackRecord;
    if (name) stack = s.engine.get(name);
    else if (physicalId) {
      const hit = s.engine.findByPhysicalId(physicalId);
      if (!hit) throw validationError(`Stack for ${physicalId} does not exist`);
      stack = hit.stack;
    } else {
      throw validationError('At least one of StackName or PhysicalResourceId must be specified');
    }
    const resources = [...stack.resources.values()].filter(
      (r) => (!logicalId || r.logicalId === logicalId) && (!physicalId || name !== undefined || r.physicalId === physicalId),
    );
    return { StackResources: resources.map((r) => renderResource(stack, r)) };
  },
  DescribeStackResource(s, q) {
    const stack = s.engine.get(required(q, 'StackName', 'stackName'));
    const logicalId = required(q, 'LogicalResourceId', 'logicalResourceId');
    const r = stack.resources.get(logicalId);
    if (!r) throw validationError(`Resource ${logicalId} does not exist for stack ${stack.stackName}`);
    const rendered = renderResource(stack, r) as Record<string, XmlValue>;
    return {
      StackResourceDetail: {
        ...rendered,
        LastUpdatedTimestamp: rendered.Timestamp,
        Timestamp: undefined,
        Metadata: r.metadata === undefined ? undefined : JSON.stringify(r.metadata),
      },
    };
  },
  ListStackResources(s, q) {
    const stack = s.engine.get(required(q, 'StackName', 'stackName'));
    const { items, next } = page([...stack.resources.values()], qString(q, 'NextToken'));
    return {
      StackResourceSummaries: items.map((r) => ({
        LogicalResourceId: r.logicalId,
        PhysicalResourceId: r.physicalId || undefined,
        ResourceType: r.type,
        LastUpdatedTimestamp: new Date(r.updatedAt),
        ResourceStatus: r.status,
        ResourceStatusReason: r.statusReason,
        DriftInformation: { StackResourceDriftStatus: r.drift?.status ?? 'NOT_CHECKED', LastCheckTimestamp: date(r.drift?.checkedAt) },
      })),
      NextToken: next,
    };
  },
  GetTemplate(s, q) {
    const changeSetName = qString(q, 'ChangeSetName');
    if (changeSetName) {
      const { changeSet } = s.changeSets.find(changeSetName, qString(q, 'StackName'));
      return { TemplateBody: changeSet.definition.templateBody, StagesAvailable: ['Original', 'Processed'] };
    }
    const stack = s.engine.get(required(q, 'StackName', 'stackName'));
    return { TemplateBody: stack.templateBody, StagesAvailable: ['Original', 'Processed'] };
  },
  ValidateTemplate(s, q) {
    const info = s.engine.loadTemplate(qString(q, 'TemplateBody'), qString(q, 'TemplateURL'));
    return {
      Parameters: [...info.parameters.entries()].map(([key, p]) => ({
        ParameterKey: key,
        DefaultValue: p.defaultValue,
        NoEcho: p.noEcho,
        Description: p.description,
      })),
      Description: info.description,
      Capabilities: info.requiredCapabilities,
      CapabilitiesReason: info.capabilitiesReason,
      DeclaredTransforms: info.transforms,
    };
  },
  CreateChangeSet(s, q) {
    const { body: text, url } = templateSource(q);
    const type = (qString(q, 'ChangeSetType') ?? 'UPDATE') as 'CREATE' | 'UPDATE';
    if (type !== 'CREATE' && type !== 'UPDATE') throw validationError(`ChangeSetType ${String(type)} is not supported`);
    const created = s.changeSets.create({
      stackName: required(q, 'StackName', 'stackName'),
      changeSetName: required(q, 'ChangeSetName', 'changeSetName'),
      changeSetType: type,
      templateBody: text,
      templateUrl: url,
      usePreviousTemplate: qBool(q, 'UsePreviousTemplate'),
      parameters: parameters(q),
      capabilities: qStrings(q, 'Capabilities'),
      tags: tags(q),
      roleArn: qString(q, 'RoleARN'),
      notificationArns: q.NotificationARNs === undefined ? undefined : qStrings(q, 'NotificationARNs'),
      description: qString(q, 'Description'),
      clientToken: qString(q, 'ClientToken'),
      onStackFailure: qString(q, 'OnStackFailure') as 'DO_NOTHING' | 'ROLLBACK' | 'DELETE' | undefined,
    });
    return { Id: created.id, StackId: created.stackId };
  },
  DescribeChangeSet(s, q) {
    const { stack, changeSet: cs } = s.changeSets.find(required(q, 'ChangeSetName', 'changeSetName'), qString(q, 'StackName'));
    const info = stack.info;
    return {
      ChangeSetName: cs.changeSetName,
      ChangeSetId: cs.changeSetId,
      StackId: cs.stackId,
      StackName: cs.stackName,
      Description: cs.description,
      Parameters: Object.entries(cs.definition.parameters).map(([key, value]) => ({
        ParameterKey: key,
        ParameterValue: info.parameters.get(key)?.noEcho ? '****' : value,
      })),
      CreationTime: new Date(cs.creationTime),
      ExecutionStatus: cs.executionStatus,
      Status: cs.status,
      StatusReason: cs.statusReason,
      NotificationARNs: cs.definition.notificationArns,
      RollbackConfiguration: {},
      Capabilities: cs.definition.capabilities,
      Tags: cs.definition.tags.map((t) => ({ Key: t.Key, Value: t.Value })),
      Changes: cs.changes.map((c) => ({
        Type: 'Resource',
        ResourceChange: {
          Action: c.action,
          LogicalResourceId: c.logicalId,
          PhysicalResourceId: c.physicalId,
          ResourceType: c.type,
          Replacement: c.replacement,
          Scope: c.details.length > 0 ? ['Properties'] : [],
          Details: c.details.map((d) => ({
            Target: { Attribute: 'Properties', Name: d.name, RequiresRecreation: d.requiresRecreation, BeforeValue: d.before, AfterValue: d.after },
            Evaluation: 'Static',
            ChangeSource: 'DirectModification',
          })),
        },
      })),
      IncludeNestedStacks: false,
      OnStackFailure: cs.onStackFailure,
    };
  },
  ExecuteChangeSet(s, q) {
    s.changeSets.execute({
      changeSetName: required(q, 'ChangeSetName', 'changeSetName'),
      stackName: qString(q, 'StackName'),
      token: qString(q, 'ClientRequestToken'),
      disableRollback: qBool(q, 'DisableRollback'),
    });
    return {};
  },
  DeleteChangeSet(s, q) {
    s.changeSets.delete({ changeSetName: required(q, 'ChangeSetName', 'changeSetName'), stackName: qString(q, 'StackName') });
    return {};
  },
  ListChangeSets(s, q) {
    const stack = s.engine.get(required(q, 'StackName', 'stackName'));
    return {
      Summaries: [...stack.changeSets.values()].map((cs) => ({
        StackId: cs.stackId,
        StackName: cs.stackName,
        ChangeSetId: cs.changeSetId,
        ChangeSetName: cs.changeSetName,
        ExecutionStatus: cs.executionStatus,
        Status: cs.status,
        StatusReason: cs.statusReason,
        CreationTime: new Date(cs.creationTime),
        Description: cs.description,
      })),
    };
  },
  ContinueUpdateRollback(s, q) {
    s.engine.continueUpdateRollback({
      stackName: required(q, 'StackName', 'stackName'),
      resourcesToSkip: qStrings(q, 'ResourcesToSkip'),
      token: qString(q, 'ClientRequestToken'),
    });
    return {};
  },
  DetectStackDrift(s, q) {
    return { StackDriftDetectionId: s.drift.detect(required(q, 'StackName', 'stackName'), qStrings(q, 'LogicalResourceIds')) };
  },
  DescribeStackDriftDetectionStatus(s, q) {
    const d = s.drift.status(required(q, 'StackDriftDetectionId', 'stackDriftDetectionId'));
    return {
      StackId: d.stackId,
      StackDriftDetectionId: d.id,
      StackDriftStatus: d.stackDriftStatus,
      DetectionStatus: d.status,
      DriftedStackResourceCount: d.driftedCount,
      Timestamp: new Date(d.timestamp),
    };
  },
  DescribeStackResourceDrifts(s, q) {
    const stackName = required(q, 'StackName', 'stackName');
    const stack = s.engine.get(stackName);
    const drifts = s.drift.resourceDrifts(stackName, qStrings(q, 'StackResourceDriftStatusFilters'));
    const { items, next } = page(drifts, qString(q, 'NextToken'), qInt(q, 'MaxResults') ?? PAGE);
    return {
      StackResourceDrifts: items.map((r) => {
        const drift = r.drift as NonNullable<ResourceRecord['drift']>;
        return {
          StackId: stack.stackId,
          LogicalResourceId: r.logicalId,
          PhysicalResourceId: r.physicalId,
          ResourceType: r.type,
          ExpectedProperties: JSON.stringify(drift.expected ?? {}),
          ActualProperties: drift.status === 'DELETED' ? undefined : JSON.stringify(drift.actual ?? drift.expected ?? {}),
          PropertyDifferences: drift.differences.map((d) => ({
            PropertyPath: d.path,
            ExpectedValue: d.expected,
            ActualValue: d.actual,
            DifferenceType: d.type,
          })),
          StackResourceDriftStatus: drift.status,
          Timestamp: new Date(drift.checkedAt),
        };
      }),
      NextToken: next,
    };
  },
};

/** The target of a call, for the call log: StackName, ChangeSetName or the drift detection id. */
export function cloudFormationTarget(q: QueryObject): string | undefined {
  return qString(q, 'StackName') ?? qString(q, 'ChangeSetName') ?? qString(q, 'StackDriftDetectionId');
}

/** True when the action is one the emulator serves. */
export function isCloudFormationAction(action: string): boolean {
  return Object.prototype.hasOwnProperty.call(handlers, action);
}

/**
 * Runs one CloudFormation action.
 * @throws AwsError as the service would answer.
 */
export function handleCloudFormation(services: CloudFormationServices, action: string, q: QueryObject): XmlValue | undefined {
  const handler = handlers[action];
  if (!handler) {
    throw new AwsError('InvalidAction', `The action ${action} is not valid for this web service.`, 400);
  }
  return handler(services, q);
}
