import { ApplicationFailure, log } from '@temporalio/activity';
import {
  CodePipelineClient,
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  ListTagsForResourceCommand,
  StartPipelineExecutionCommand,
  StopPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { ErrorType } from '../common/errors';
import { notOwnedMessage, ownershipProblem, type OwnershipInput } from '../common/ownership';
import { awsCall } from './aws-errors';
import { pollUntil, type PollTiming, type WaitMode } from './poll';
import { requestToken } from './tokens';

/** A pipeline in a region, for the CodePipeline activities. */
export interface PipelineRef {
  environment: string;
  pipelineName: string;
  region: string;
}

/** How an execution ended. */
export interface ExecutionOutcome {
  executionId: string;
  status: string;
  /** The AppVersion variable the execution ran with, when it had one. */
  appVersion?: string;
}

const RUNNING = new Set(['InProgress', 'Stopping']);

/** What the CodePipeline activities know about the worker. */
export interface CodePipelineOptions {
  /** This installation's id, checked against the pipeline's `cfn-gitops:installation` tag. */
  installation?: string;
}

/** CodePipeline activities over one client factory. */
export function createCodePipelineActivities(clientFor: (region: string) => CodePipelineClient, timing: PollTiming, options: CodePipelineOptions = {}) {
  /**
   * Fails with NotOwned unless the pipeline carries the environment's tag, which CloudFormation
   * propagates from the pipeline stack cfn-gitops created: a pipeline someone else made under the
   * derived name is never started or stopped.
   */
  async function assertOwned(ref: PipelineRef, call: string): Promise<void> {
    const context = { environment: ref.environment, call: 'GetPipeline', target: ref.pipelineName };
    const client = clientFor(ref.region);
    const listTags = (resourceArn: string) => client.send(new ListTagsForResourceCommand({ resourceArn }));
    const tags: Record<string, string> = {};
    let listed = await awsCall({ ...context, call: 'ListTagsForResource' }, async () => {
      const known = knownArn(ref);
      // A pipeline that is not there: GetPipeline below says so in CodePipeline's words.
      return known ? listTags(known).catch((error: { name?: string }) => (error.name === 'ResourceNotFoundException' ? undefined : Promise.reject(error))) : undefined;
    });
    if (!listed) {
      const pipeline = await awsCall(context, () => client.send(new GetPipelineCommand({ name: ref.pipelineName })));
      const arn = pipeline.metadata?.pipelineArn;
      if (arn) {
        learnArn(ref, arn);
        listed = await awsCall({ ...context, call: 'ListTagsForResource' }, () => listTags(arn));
      }
    }
    for (const tag of listed?.tags ?? []) tags[tag.key!] = tag.value ?? '';
    const input: OwnershipInput = { environment: ref.environment, call, kind: 'pipeline', name: ref.pipelineName, tags, installation: options.installation };
    const problem = ownershipProblem(input);
    if (!problem) return;
    log.warn('pipeline not owned; refused', { pipelineName: ref.pipelineName, call, tags });
    throw ApplicationFailure.create({
      type: ErrorType.NotOwned,
      nonRetryable: true,
      message: notOwnedMessage(input, problem),
      details: [{ environment: ref.environment, call, pipelineName: ref.pipelineName, tags }],
    });
  }

  /**
   * A pipeline's ARN is `arn:<partition>:codepipeline:<region>:<account>:<name>`: once one
   * pipeline's ARN in a region is known, the others' follow without a GetPipeline each.
   */
  const arnPrefixes = new Map<string, string>();
  const knownArn = (ref: PipelineRef) => {
    const prefix = arnPrefixes.get(ref.region);
    return prefix === undefined ? undefined : `${prefix}${ref.pipelineName}`;
  };
  const learnArn = (ref: PipelineRef, arn: string) => {
    if (arn.endsWith(`:${ref.pipelineName}`)) arnPrefixes.set(ref.region, arn.slice(0, arn.length - ref.pipelineName.length));
  };

  /** "Deploy.DeployEnvironment failed: <AWS's message>" for the failed actions of an execution. */
  async function failedActions(ref: PipelineRef, executionId: string): Promise<string[]> {
    try {
      const out = await clientFor(ref.region).send(
        new ListActionExecutionsCommand({ pipelineName: ref.pipelineName, filter: { pipelineExecutionId: executionId } }),
      );
      return (out.actionExecutionDetails ?? [])
        .filter((action) => action.status === 'Failed')
        .map((action) => {
          const result = action.output?.executionResult;
          const message = result?.errorDetails?.message ?? result?.externalExecutionSummary ?? 'failed';
          return `${action.stageName}.${action.actionName} failed: ${message}`;
        });
    } catch {
      return [];
    }
  }

  return {
    /**
     * The execution a pipeline started by itself when it was created. Waits (see WaitMode) until
     * CodePipeline has started it; the oldest execution is the one created with the pipeline.
     */
    async findInitialExecution(ref: PipelineRef & WaitMode): Promise<string> {
      const context = { environment: ref.environment, call: 'ListPipelineExecutions', target: ref.pipelineName };
      return pollUntil(timing, async () => {
        const out = await awsCall(context, () => clientFor(ref.region).send(new ListPipelineExecutionsCommand({ pipelineName: ref.pipelineName })));
        const executions = out.pipelineExecutionSummaries ?? [];
        return executions.length > 0 ? executions[executions.length - 1]!.pipelineExecutionId : undefined;
      }, ref);
    },

    /**
     * StartPipelineExecution with the version as the `AppVersion` variable and a token derived from
     * the desired state. Fails with NotOwned on someone else's pipeline.
     */
    async startPipelineExecution(ref: PipelineRef & { appVersion: string; requestKey: string }): Promise<string> {
      await assertOwned(ref, 'StartPipelineExecution');
      const out = await awsCall({ environment: ref.environment, call: 'StartPipelineExecution', target: ref.pipelineName }, () =>
        clientFor(ref.region).send(
          new StartPipelineExecutionCommand({
            name: ref.pipelineName,
            variables: [{ name: 'AppVersion', value: ref.appVersion }],
            clientRequestToken: requestToken(`${ref.requestKey}/start`),
          }),
        ),
      );
      log.info('pipeline execution started', { pipelineName: ref.pipelineName, executionId: out.pipelineExecutionId, appVersion: ref.appVersion });
      return out.pipelineExecutionId!;
    },

    /**
     * Waits (see WaitMode) for an execution to end. Succeeded returns; Failed, Stopped and
     * Superseded fail with PipelineFailed and the failing action's message.
     */
    async waitForPipelineExecution(ref: PipelineRef & { executionId: string } & WaitMode): Promise<ExecutionOutcome> {
      const context = { environment: ref.environment, call: 'GetPipelineExecution', target: ref.pipelineName };
      const execution = await pollUntil(timing, async () => {
        const out = await awsCall(context, () =>
          clientFor(ref.region).send(new GetPipelineExecutionCommand({ pipelineName: ref.pipelineName, pipelineExecutionId: ref.executionId })),
        );
        const found = out.pipelineExecution!;
        return RUNNING.has(found.status ?? '') ? undefined : found;
      }, ref);
      const appVersion = execution.variables?.find((v) => v.name === 'AppVersion')?.resolvedValue;
      if (execution.status === 'Succeeded') return { executionId: ref.executionId, status: 'Succeeded', appVersion };
      const actions = execution.status === 'Failed' ? await failedActions(ref, ref.executionId) : [];
      const why = actions.length ? actions.join('; ') : execution.statusSummary ?? execution.status;
      throw ApplicationFailure.create({
        type: ErrorType.PipelineFailed,
        nonRetryable: true,
        message: `${ref.environment}: pipeline ${ref.pipelineName} execution ${ref.executionId} ${execution.status}: ${why}`,
        details: [{ pipelineName: ref.pipelineName, executionId: ref.executionId, status: execution.status, actions }],
      });
    },

    /** Stops an execution; one that already ended or is already stopping is left as it is. Fails with NotOwned on someone else's pipeline. */
    async stopPipelineExecution(ref: PipelineRef & { executionId: string; reason: string; abandon: boolean }): Promise<void> {
      await assertOwned(ref, 'StopPipelineExecution');
      try {
        await clientFor(ref.region).send(
          new StopPipelineExecutionCommand({
            pipelineName: ref.pipelineName,
            pipelineExecutionId: ref.executionId,
            reason: ref.reason,
            abandon: ref.abandon,
          }),
        );
        log.info('pipeline execution stop requested', { pipelineName: ref.pipelineName, executionId: ref.executionId });
      } catch (error) {
        const name = (error as { name?: string }).name;
        if (name === 'PipelineExecutionNotStoppableException' || name === 'DuplicatedStopRequestException') return;
        await awsCall({ environment: ref.environment, call: 'StopPipelineExecution', target: ref.pipelineName }, () => Promise.reject(error));
      }
    },

    /** Waits for a stopped execution to come to rest, whatever its end. */
    async waitForExecutionToSettle(ref: PipelineRef & { executionId: string } & WaitMode): Promise<string> {
      const context = { environment: ref.environment, call: 'GetPipelineExecution', target: ref.pipelineName };
      return pollUntil(timing, async () => {
        const out = await awsCall(context, () =>
          clientFor(ref.region).send(new GetPipelineExecutionCommand({ pipelineName: ref.pipelineName, pipelineExecutionId: ref.executionId })),
        );
        const status = out.pipelineExecution?.status ?? 'Unknown';
        return RUNNING.has(status) ? undefined : status;
      }, ref);
    },
  };
}
