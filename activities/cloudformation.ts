import { log } from '@temporalio/activity';
import {
  CloudFormationClient,
  ContinueUpdateRollbackCommand,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
  UpdateStackCommand,
  ValidateTemplateCommand,
  type Stack,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { ApplicationFailure } from '@temporalio/activity';
import { ErrorType } from '../common/errors';
import { notOwnedMessage, ownedTags, ownershipProblem, type OwnershipInput } from '../common/ownership';
import type { ArtifactBuckets } from './artifact-bucket';
import { awsCall } from './aws-errors';
import { sha256Of, type StoredTemplate, type TemplateStore } from './templates';
import { pollUntil, type PollTiming, type WaitMode } from './poll';
import { requestToken } from './tokens';

/** A stack as the workflow sees it. */
export interface StackInfo {
  stackName: string;
  stackId: string;
  status: string;
  statusReason?: string;
  parameters: Record<string, string>;
  outputs: Record<string, string>;
}

/** Where a stack is and what it should be, for the CloudFormation activities. */
export interface StackRef {
  environment: string;
  stackName: string;
  region: string;
}

/** Input of create and update. */
export interface StackChange extends StackRef {
  /** The template's body (desired states from before templates travelled by hash). */
  templateBody?: string;
  /** The template stored by hash: CloudFormation reads it from S3 (up to 1 MB). */
  template?: StoredTemplate;
  /** Parameters the caller wants; reserved ones the template does not declare are dropped. */
  parameters: Record<string, string>;
  /** Parameters the caller always passes whether or not the template declares them (the user's own). */
  requiredParameters: string[];
  /** Stable key of this desired state; the ClientRequestToken is derived from it. */
  requestKey: string;
  /**
   * Parameters whose change alone does not call for an update: the app version travels as the
   * execution's variable, so a new version must not cost a stack update.
   */
  ignoreForUpdate?: string[];
}

/** What `inspectStack` found and what it means for a sync. */
export interface StackInspection {
  stack: StackInfo | null;
  /** Template body or parameters differ from the desired ones. */
  needsUpdate: boolean;
}

/** Which operation a wait follows, and so which states end it well. */
export type StackOperation = 'create' | 'update' | 'delete' | 'rollback' | 'any';

const SUCCESS: Record<StackOperation, ReadonlySet<string>> = {
  create: new Set(['CREATE_COMPLETE']),
  update: new Set(['UPDATE_COMPLETE']),
  delete: new Set(['DELETE_COMPLETE']),
  rollback: new Set(['UPDATE_ROLLBACK_COMPLETE']),
  any: new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE', 'ROLLBACK_COMPLETE', 'DELETE_COMPLETE', 'ROLLBACK_FAILED', 'UPDATE_ROLLBACK_FAILED', 'DELETE_FAILED', 'CREATE_FAILED']),
};

/** A stack's tags as DescribeStacks gives them, by key. */
export function tagsOf(stack: Stack): Record<string, string> {
  return Object.fromEntries((stack.Tags ?? []).map((t) => [t.Key!, t.Value ?? '']));
}

function toStackInfo(stack: Stack): StackInfo {
  return {
    stackName: stack.StackName!,
    stackId: stack.StackId!,
    status: stack.StackStatus!,
    statusReason: stack.StackStatusReason,
    parameters: Object.fromEntries((stack.Parameters ?? []).map((p) => [p.ParameterKey!, p.ParameterValue ?? ''])),
    outputs: Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue ?? ''])),
  };
}

function isMissingStack(error: unknown): boolean {
  const err = error as { name?: string; message?: string };
  return err?.name === 'ValidationError' && /does not exist/.test(err.message ?? '');
}

/** Reasons of the failed resources of the stack's latest operation, oldest first. */
async function failureReasons(client: CloudFormationClient, ref: StackRef): Promise<string[]> {
  const events: StackEvent[] = [];
  try {
    const page = await client.send(new DescribeStackEventsCommand({ StackName: ref.stackName }));
    events.push(...(page.StackEvents ?? []));
  } catch {
    return [];
  }
  const reasons: string[] = [];
  // Events come newest first; stop at the event that began the latest operation.
  for (const event of events) {
    const status = event.ResourceStatus ?? '';
    if (event.LogicalResourceId === ref.stackName && /_IN_PROGRESS$/.test(status) && !/ROLLBACK|CLEANUP/.test(status)) break;
    if (/FAILED$/.test(status) && event.ResourceStatusReason && event.LogicalResourceId !== ref.stackName) {
      reasons.unshift(`${event.LogicalResourceId} (${event.ResourceType}) ${status}: ${event.ResourceStatusReason}`);
    }
  }
  return reasons;
}

/** Which stack a delete is about: the environment stack is made by the pipeline, not by cfn-gitops. */
export type StackKind = 'pipeline' | 'environment';

/** What the CloudFormation activities know about the worker. */
export interface CloudFormationOptions {
  /** This installation's id, written as the `cfn-gitops:installation` tag and checked against it. */
  installation?: string;
  /** Turns an `ArtifactBucket` parameter that means the bootstrap stack's bucket into its name. */
  artifactBuckets?: ArtifactBuckets;
  /** Where templates stored by hash are read from. */
  templates?: TemplateStore;
}

/** Templates whose declared parameters are kept, by hash (ValidateTemplate once per template and worker). */
const CACHED_DECLARATIONS = 64;

/** CloudFormation activities over one client factory. */
export function createCloudFormationActivities(clientFor: (region: string) => CloudFormationClient, timing: PollTiming, options: CloudFormationOptions = {}) {
  async function describeRaw(ref: StackRef): Promise<Stack | null> {
    const client = clientFor(ref.region);
    try {
      const out = await client.send(new DescribeStacksCommand({ StackName: ref.stackName }));
      const stack = out.Stacks?.[0];
      return stack && stack.StackStatus !== 'DELETE_COMPLETE' ? stack : null;
    } catch (error) {
      if (isMissingStack(error)) return null;
      throw error;
    }
  }

  async function describe(ref: StackRef): Promise<StackInfo | null> {
    const stack = await describeRaw(ref);
    return stack ? toStackInfo(stack) : null;
  }

  /**
   * The stack, read before `call` touches it; null when it does not exist. Fails with NotOwned
   * when the stack is not this environment's: a stack someone else made under the derived name
   * is never updated, deleted or rolled on.
   */
  async function ownedStack(ref: StackRef, call: string, acceptEnvironmentParameter = false): Promise<Stack | null> {
    const stack = await awsCall({ environment: ref.environment, call: 'DescribeStacks', target: ref.stackName }, () => describeRaw(ref));
    if (!stack) return null;
    const info = toStackInfo(stack);
    const input: OwnershipInput = {
      environment: ref.environment,
      call,
      kind: 'stack',
      name: ref.stackName,
      tags: tagsOf(stack),
      installation: options.installation,
      parameters: acceptEnvironmentParameter ? info.parameters : undefined,
    };
    const problem = ownershipProblem(input);
    if (problem) {
      log.warn('stack not owned; refused', { stackName: ref.stackName, call, tags: input.tags });
      throw ApplicationFailure.create({
        type: ErrorType.NotOwned,
        nonRetryable: true,
        message: notOwnedMessage(input, problem),
        details: [{ environment: ref.environment, call, stackName: ref.stackName, tags: input.tags }],
      });
    }
    return stack;
  }

  /** TemplateBody, or TemplateURL for a template stored by hash. */
  async function templateSource(change: StackChange): Promise<{ TemplateBody: string } | { TemplateURL: string }> {
    if (!change.template) return { TemplateBody: change.templateBody! };
    if (!options.templates) throw new Error('templates stored by hash need the template store');
    return { TemplateURL: await options.templates.url(change.environment, change.region, change.template) };
  }

  const declarations = new Map<string, Map<string, string | undefined>>();
  /** The parameters the template declares, with their defaults (ValidateTemplate; once per stored template). */
  async function declaredParameters(change: StackChange): Promise<Map<string, string | undefined>> {
    const hash = change.template?.sha256;
    const known = hash ? declarations.get(hash) : undefined;
    if (known) return known;
    const source = await templateSource(change);
    const validated = await awsCall({ environment: change.environment, call: 'ValidateTemplate', target: change.stackName }, () =>
      clientFor(change.region).send(new ValidateTemplateCommand(source)),
    );
    const declared = new Map((validated.Parameters ?? []).map((p) => [p.ParameterKey!, p.DefaultValue] as [string, string | undefined]));
    if (hash) {
      if (declarations.size >= CACHED_DECLARATIONS) declarations.delete(declarations.keys().next().value!);
      declarations.set(hash, declared);
    }
    return declared;
  }

  /** Does the stack's template (GetTemplate, as submitted) differ from the desired one? */
  function templateDiffers(current: string | undefined, change: StackChange): boolean {
    if (change.template) return current === undefined || sha256Of(current) !== change.template.sha256;
    return current?.trim() !== change.templateBody!.trim();
  }

  async function parametersFor(change: StackChange, declared?: Map<string, string | undefined>): Promise<{ ParameterKey: string; ParameterValue: string }[]> {
    const known = declared ?? (await declaredParameters(change));
    const required = new Set(change.requiredParameters);
    const passed = Object.entries(change.parameters).filter(([key]) => known.has(key) || required.has(key));
    return Promise.all(
      passed.map(async ([ParameterKey, ParameterValue]) => ({
        ParameterKey,
        // Resolved only when the template takes it: a pipeline without ArtifactBucket needs no bootstrap.
        ParameterValue:
          ParameterKey === 'ArtifactBucket' && options.artifactBuckets
            ? await options.artifactBuckets.resolve({ environment: change.environment, region: change.region, artifactBucket: ParameterValue })
            : ParameterValue,
      })),
    );
  }

  return {
    /** The stack, or null when it does not exist. */
    async describeStack(ref: StackRef): Promise<StackInfo | null> {
      return awsCall({ environment: ref.environment, call: 'DescribeStacks', target: ref.stackName }, () => describe(ref));
    },

    /** The stack and whether its template or parameters differ from what is desired. */
    async inspectStack(change: StackChange): Promise<StackInspection> {
      const context = { environment: change.environment, call: 'DescribeStacks', target: change.stackName };
      // Checked here too, so that a sync meets someone else's stack before it waits on it.
      const found = await ownedStack(change, 'UpdateStack');
      const stack = found ? toStackInfo(found) : null;
      // A stack that cannot take an update now; UPDATE_ROLLBACK_COMPLETE can, and after a failed update it must.
      if (!stack || /_IN_PROGRESS$|FAILED$/.test(stack.status) || stack.status === 'ROLLBACK_COMPLETE') return { stack, needsUpdate: false };
      const client = clientFor(change.region);
      const template = await awsCall({ ...context, call: 'GetTemplate' }, () =>
        client.send(new GetTemplateCommand({ StackName: change.stackName, TemplateStage: 'Original' })),
      );
      const declared = await declaredParameters(change);
      const wanted = await parametersFor(change, declared);
      const ignored = new Set(change.ignoreForUpdate ?? []);
      const parametersDiffer = wanted.some((p) => !ignored.has(p.ParameterKey) && stack.parameters[p.ParameterKey] !== p.ParameterValue);
      // A parameter taken out of the config goes back to its template default, which an update applies.
      const passed = new Set(wanted.map((p) => p.ParameterKey));
      const droppedDiffer = [...declared].some(
        ([key, fallback]) => !passed.has(key) && !ignored.has(key) && fallback !== undefined && stack.parameters[key] !== undefined && stack.parameters[key] !== fallback,
      );
      return { stack, needsUpdate: parametersDiffer || droppedDiffer || templateDiffers(template.TemplateBody, change) };
    },

    /**
     * What a sync would change in the pipeline stack, for the approval gate: a change set is
     * created, read and deleted again. Lines such as `Modify Pipeline (AWS::CodePipeline::Pipeline): Properties`;
     * empty when nothing would change (the version alone travels as the execution's variable).
     */
    async previewStackChanges(change: StackChange): Promise<string[]> {
      const client = clientFor(change.region);
      const context = { environment: change.environment, call: 'DescribeStacks', target: change.stackName };
      const stack = await ownedStack(change, 'CreateChangeSet');
      if (!stack) return [`Add ${change.stackName}: a new pipeline stack, whose pipeline then runs once by itself`];
      const ignored = new Set(change.ignoreForUpdate ?? []);
      const parameters = (await parametersFor(change)).map((p) => (ignored.has(p.ParameterKey) ? { ParameterKey: p.ParameterKey, UsePreviousValue: true } : p));
      const changeSetName = requestToken(`${change.requestKey}/preview`);
      const source = await templateSource(change);
      await awsCall({ ...context, call: 'CreateChangeSet' }, () =>
        client.send(
          new CreateChangeSetCommand({
            StackName: change.stackName,
            ChangeSetName: changeSetName,
            ChangeSetType: 'UPDATE',
            ...source,
            Parameters: parameters,
            Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
            Description: 'cfn-gitops approval preview; deleted once read',
          }),
        ),
      );
      try {
        const described = await pollUntil(timing, async () => {
          const out = await awsCall({ ...context, call: 'DescribeChangeSet' }, () => client.send(new DescribeChangeSetCommand({ StackName: change.stackName, ChangeSetName: changeSetName })));
          return /_PENDING$|_IN_PROGRESS$/.test(out.Status ?? '') ? undefined : out;
        });
        if (described.Status === 'FAILED') {
          if (/didn't contain changes|No updates are to be performed/.test(described.StatusReason ?? '')) return [];
          return [`change set failed: ${described.StatusReason ?? 'no reason given'}`];
        }
        return (described.Changes ?? []).map(({ ResourceChange: r }) => {
          const scope = r?.Scope?.length ? `: ${r.Scope.join(', ')}` : '';
          const replace = r?.Replacement === 'True' ? ' (replacement)' : '';
          return `${r?.Action ?? 'Change'} ${r?.LogicalResourceId} (${r?.ResourceType})${scope}${replace}`;
        });
      } finally {
        await client.send(new DeleteChangeSetCommand({ StackName: change.stackName, ChangeSetName: changeSetName })).catch(() => undefined);
      }
    },

    /** CreateStack with a token derived from the desired state: a retry never creates twice. */
    async createStack(change: StackChange): Promise<string> {
      const client = clientFor(change.region);
      const parameters = await parametersFor(change);
      const source = await templateSource(change);
      const out = await awsCall({ environment: change.environment, call: 'CreateStack', target: change.stackName }, () =>
        client.send(
          new CreateStackCommand({
            StackName: change.stackName,
            ...source,
            Parameters: parameters,
            Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
            ClientRequestToken: requestToken(`${change.requestKey}/create`),
            Tags: ownedTags(change.environment, options.installation),
          }),
        ),
      );
      log.info('stack create requested', { stackName: change.stackName, stackId: out.StackId });
      return out.StackId!;
    },

    /** UpdateStack; false when CloudFormation says there is nothing to update. */
    async updateStack(change: StackChange): Promise<boolean> {
      const client = clientFor(change.region);
      const stack = await ownedStack(change, 'UpdateStack');
      const parameters = await parametersFor(change);
      const source = await templateSource(change);
      try {
        await client.send(
          new UpdateStackCommand({
            StackName: change.stackName,
            ...source,
            Parameters: parameters,
            Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
            ClientRequestToken: requestToken(`${change.requestKey}/update`),
            // The stack's other tags are kept; ours are set (a stack from before the installation tag gets it now).
            Tags: ownedTags(change.environment, options.installation, stack ? tagsOf(stack) : {}),
          }),
        );
        log.info('stack update requested', { stackName: change.stackName });
        return true;
      } catch (error) {
        const err = error as { name?: string; message?: string };
        if (err.name === 'ValidationError' && /No updates are to be performed/.test(err.message ?? '')) return false;
        return awsCall({ environment: change.environment, call: 'UpdateStack', target: change.stackName }, () => Promise.reject(error));
      }
    },

    /**
     * DeleteStack with a token; deleting a stack that is gone is a no-op. A stack that is not the
     * environment's fails with NotOwned: the pipeline stack must carry the environment's tag; the
     * environment stack, which the pipeline's deploy action creates without cfn-gitops' tags, may
     * show its `EnvironmentName` parameter instead. Without `stackKind`, a name ending in
     * `-pipeline` (as every pipeline stack's does) is taken for a pipeline stack.
     */
    async deleteStack(ref: StackRef & { requestKey: string; retainResources?: string[]; stackKind?: StackKind }): Promise<void> {
      const client = clientFor(ref.region);
      const kind = ref.stackKind ?? (ref.stackName.endsWith('-pipeline') ? 'pipeline' : 'environment');
      const stack = await ownedStack(ref, 'DeleteStack', kind === 'environment');
      if (!stack) {
        log.info('stack to delete does not exist', { stackName: ref.stackName });
        return;
      }
      await awsCall({ environment: ref.environment, call: 'DeleteStack', target: ref.stackName }, () =>
        client.send(
          new DeleteStackCommand({
            StackName: ref.stackName,
            ClientRequestToken: requestToken(`${ref.requestKey}/delete`),
            RetainResources: ref.retainResources,
          }),
        ),
      );
      log.info('stack delete requested', { stackName: ref.stackName });
    },

    /** Gets a stack out of UPDATE_ROLLBACK_FAILED. */
    async continueUpdateRollback(ref: StackRef & { requestKey: string }): Promise<void> {
      const client = clientFor(ref.region);
      await ownedStack(ref, 'ContinueUpdateRollback');
      await awsCall({ environment: ref.environment, call: 'ContinueUpdateRollback', target: ref.stackName }, () =>
        client.send(new ContinueUpdateRollbackCommand({ StackName: ref.stackName, ClientRequestToken: requestToken(`${ref.requestKey}/continue-rollback`) })),
      );
    },

    /**
     * Waits (see WaitMode) until the stack leaves its *_IN_PROGRESS state. Returns the stack
     * (null once deleted) when it ends as the operation should; otherwise fails with
     * StackFailed naming the resources that failed and why.
     */
    async waitForStack(ref: StackRef & { operation: StackOperation } & WaitMode): Promise<StackInfo | null> {
      const context = { environment: ref.environment, call: 'DescribeStacks', target: ref.stackName };
      const final = await pollUntil(timing, async () => {
        const stack = await awsCall(context, () => describe(ref));
        if (!stack) return { stack: null };
        if (/_IN_PROGRESS$/.test(stack.status)) return undefined;
        return { stack };
      }, ref);
      const stack = final.stack;
      if (!stack) {
        if (ref.operation === 'delete' || ref.operation === 'any') return null;
        throw ApplicationFailure.create({
          type: ErrorType.StackFailed,
          nonRetryable: true,
          message: `${ref.environment}: stack ${ref.stackName} does not exist`,
        });
      }
      if (SUCCESS[ref.operation].has(stack.status)) return stack;
      const reasons = await failureReasons(clientFor(ref.region), ref);
      throw ApplicationFailure.create({
        type: ErrorType.StackFailed,
        nonRetryable: true,
        message: `${ref.environment}: stack ${ref.stackName} ended in ${stack.status}${reasons.length ? `: ${reasons.join('; ')}` : stack.statusReason ? `: ${stack.statusReason}` : ''}`,
        details: [{ stackName: ref.stackName, status: stack.status, reasons }],
      });
    },
  };
}
