import { AwsError } from '../errors';
import type { PipelineEngine } from './engine';
import type { ActionRecord, ExecutionRecord, PipelineRecord } from './model';

/**
 * The CodePipeline JSON 1.1 API: one handler per operation, taking the parsed body and
 * returning the response object (timestamps as epoch seconds).
 */

type Body = Record<string, unknown>;
type Handler = (engine: PipelineEngine, body: Body, caller: string) => unknown;

function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

function requiredString(body: Body, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value.length === 0) {
    throw new AwsError('ValidationException', `1 validation error detected: Value null at '${key}' failed to satisfy constraint: Member must not be null`, 400);
  }
  return value;
}

function paginate<T>(items: T[], body: Body, max: number): { items: T[]; nextToken?: string } {
  const size = typeof body.maxResults === 'number' ? Math.max(1, Math.min(max, body.maxResults)) : max;
  let start = 0;
  if (typeof body.nextToken === 'string') {
    start = Number(Buffer.from(body.nextToken, 'base64').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) throw new AwsError('InvalidNextTokenException', 'The next token was specified in an invalid format.', 400);
  }
  const slice = items.slice(start, start + size);
  return { items: slice, nextToken: start + size < items.length ? Buffer.from(String(start + size)).toString('base64') : undefined };
}

function execution(pipeline: PipelineRecord, id: string): ExecutionRecord {
  const found = pipeline.executions.get(id);
  if (!found) {
    throw new AwsError(
      'PipelineExecutionNotFoundException',
      `Pipeline Execution id ${id} does not exist in pipeline with name ${pipeline.name}.`,
      400,
    );
  }
  return found;
}

function renderAction(a: ActionRecord): unknown {
  return {
    pipelineExecutionId: a.pipelineExecutionId,
    actionExecutionId: a.actionExecutionId,
    pipelineVersion: a.pipelineVersion,
    stageName: a.stageName,
    actionName: a.actionName,
    startTime: seconds(a.startTime),
    lastUpdateTime: seconds(a.lastUpdateTime),
    updatedBy: 'codepipeline.amazonaws.com',
    status: a.status,
    input: {
      actionTypeId: a.actionTypeId,
      configuration: a.configuration,
      resolvedConfiguration: a.resolvedConfiguration,
      roleArn: a.roleArn,
      region: a.region,
      inputArtifacts: a.inputArtifacts,
      namespace: a.namespace,
    },
    output: {
      outputArtifacts: a.outputArtifacts,
      executionResult:
        a.status === 'InProgress'
          ? undefined
          : {
              externalExecutionId: a.externalExecutionId,
              externalExecutionSummary: a.summary ?? a.errorDetails?.message,
              externalExecutionUrl: a.externalExecutionUrl,
              errorDetails: a.errorDetails,
            },
      outputVariables: a.outputVariables,
    },
  };
}

const handlers: Record<string, Handler> = {
  GetPipeline(engine, body) {
    const pipeline = engine.get(requiredString(body, 'name'));
    if (typeof body.version === 'number' && body.version !== pipeline.declaration.version) {
      throw new AwsError('PipelineVersionNotFoundException', `Pipeline version ${body.version} does not exist for pipeline ${pipeline.name}`, 400);
    }
    return {
      pipeline: pipeline.declaration,
      metadata: { pipelineArn: pipeline.arn, created: seconds(pipeline.created), updated: seconds(pipeline.updated) },
    };
  },
  ListPipelines(engine, body) {
    const all = [...engine.pipelines.values()].sort((a, b) => a.name.localeCompare(b.name));
    const { items, nextToken } = paginate(all, body, 1000);
    return {
      pipelines: items.map((p) => ({
        name: p.name,
        version: p.declaration.version,
        pipelineType: p.declaration.pipelineType,
        executionMode: p.declaration.executionMode,
        created: seconds(p.created),
        updated: seconds(p.updated),
      })),
      nextToken,
    };
  },
  GetPipelineState(engine, body) {
    const pipeline = engine.get(requiredString(body, 'name'));
    return {
      pipelineName: pipeline.name,
      pipelineVersion: pipeline.declaration.version,
      stageStates: pipeline.declaration.stages.map((stage) => {
        const latestId = pipeline.latestInStage.get(stage.name);
        const latest = latestId ? pipeline.executions.get(latestId) : undefined;
        const waiting = (pipeline.waiting.get(stage.name) ?? []).filter((id) => pipeline.executions.get(id)?.status === 'InProgress');
        return {
          stageName: stage.name,
          inboundExecution: waiting.length > 0 ? { pipelineExecutionId: waiting[waiting.length - 1], status: 'InProgress' } : undefined,
          inboundExecutions: waiting.length > 0 ? waiting.map((id) => ({ pipelineExecutionId: id, status: 'InProgress' })) : undefined,
          inboundTransitionState: { enabled: true },
          actionStates: stage.actions.map((action) => {
            const a = pipeline.latestAction.get(`${stage.name}/${action.name}`);
            const revision = a ? latest?.artifactRevisions.find((r) => a.outputArtifacts.some((o) => o.name === r.name)) : undefined;
            return {
              actionName: action.name,
              currentRevision:
                action.actionTypeId.category === 'Source' && revision?.revisionId
                  ? { revisionId: revision.revisionId, revisionChangeId: revision.revisionChangeIdentifier ?? revision.revisionId, created: seconds(revision.created) }
                  : undefined,
              latestExecution: a
                ? {
                    actionExecutionId: a.actionExecutionId,
                    status: a.status,
                    summary: a.summary,
                    lastStatusChange: seconds(a.lastUpdateTime),
                    externalExecutionId: a.externalExecutionId,
                    errorDetails: a.errorDetails,
                  }
                : undefined,
            };
          }),
          latestExecution: latest && latest.stageStatus[stage.name]
            ? { pipelineExecutionId: latest.id, status: latest.stageStatus[stage.name], type: 'STANDARD' }
            : undefined,
        };
      }),
      created: seconds(pipeline.created),
      updated: seconds(pipeline.updated),
    };
  },
  StartPipelineExecution(engine, body, caller) {
    const variables = Array.isArray(body.variables)
      ? (body.variables as { name?: unknown; value?: unknown }[]).map((v) => ({ name: String(v.name ?? ''), value: String(v.value ?? '') }))
      : [];
    const id = engine.startExecution({
      name: requiredString(body, 'name'),
      variables,
      token: typeof body.clientRequestToken === 'string' ? body.clientRequestToken : undefined,
      caller,
    });
    return { pipelineExecutionId: id };
  },
  GetPipelineExecution(engine, body) {
    const pipeline = engine.get(requiredString(body, 'pipelineName'));
    const e = execution(pipeline, requiredString(body, 'pipelineExecutionId'));
    return {
      pipelineExecution: {
        pipelineName: pipeline.name,
        pipelineVersion: e.pipelineVersion,
        pipelineExecutionId: e.id,
        status: e.status,
        statusSummary: e.statusSummary,
        artifactRevisions: e.artifactRevisions.map((r) => ({ ...r, created: seconds(r.created) })),
        variables: e.variables,
        trigger: e.trigger,
        executionMode: e.executionMode,
        executionType: 'STANDARD',
      },
    };
  },
  ListPipelineExecutions(engine, body) {
    const pipeline = engine.get(requiredString(body, 'pipelineName'));
    const stageFilter = (body.filter as { succeededInStage?: { stageName?: string } } | undefined)?.succeededInStage?.stageName;
    const all: ExecutionRecord[] = [];
    for (let i = pipeline.order.length - 1; i >= 0; i--) {
      const e = pipeline.executions.get(pipeline.order[i]);
      if (!e) continue;
      if (stageFilter && e.stageStatus[stageFilter] !== 'Succeeded') continue;
      all.push(e);
    }
    const { items, nextToken } = paginate(all, body, 100);
    return {
      pipelineExecutionSummaries: items.map((e) => ({
        pipelineExecutionId: e.id,
        status: e.status,
        statusSummary: e.statusSummary,
        startTime: seconds(e.startTime),
        lastUpdateTime: seconds(e.lastUpdateTime),
        sourceRevisions: e.sourceRevisions,
        trigger: e.trigger,
        stopTrigger: e.stop ? { reason: e.stop.reason } : undefined,
        executionMode: e.executionMode,
        executionType: 'STANDARD',
      })),
      nextToken,
    };
  },
  StopPipelineExecution(engine, body) {
    const id = requiredString(body, 'pipelineExecutionId');
    engine.stopExecution({
      name: requiredString(body, 'pipelineName'),
      executionId: id,
      abandon: body.abandon === true,
      reason: typeof body.reason === 'string' ? body.reason : undefined,
    });
    return { pipelineExecutionId: id };
  },
  ListTagsForResource(engine, body) {
    // One page: CodePipeline lists all of a resource's tags in one call.
    return { tags: engine.tagsOf(requiredString(body, 'resourceArn')) };
  },
  ListActionExecutions(engine, body) {
    const pipeline = engine.get(requiredString(body, 'pipelineName'));
    const filter = body.filter as { pipelineExecutionId?: string; latestInPipelineExecution?: { pipelineExecutionId?: string } } | undefined;
    const executionId = filter?.pipelineExecutionId ?? filter?.latestInPipelineExecution?.pipelineExecutionId;
    const actions: ActionRecord[] = [];
    if (executionId) {
      actions.push(...execution(pipeline, executionId).actions);
    } else {
      for (const id of pipeline.order) actions.push(...(pipeline.executions.get(id)?.actions ?? []));
    }
    actions.sort((a, b) => b.startTime - a.startTime);
    const { items, nextToken } = paginate(actions, body, 100);
    return { actionExecutionDetails: items.map(renderAction), nextToken };
  },
};

/** The target of a call, for the call log: the pipeline name (the ARN's last part for tag calls). */
export function codePipelineTarget(body: Body): string | undefined {
  const name = body.name ?? body.pipelineName ?? (typeof body.resourceArn === 'string' ? body.resourceArn.split(':').at(-1) : undefined);
  return typeof name === 'string' ? name : undefined;
}

/**
 * Runs one CodePipeline operation.
 * @throws AwsError as the service would answer.
 */
export function handleCodePipeline(engine: PipelineEngine, operation: string, body: Body, caller: string): unknown {
  const handler = handlers[operation];
  if (!handler) throw new AwsError('UnknownOperationException', `Unknown operation ${operation}`, 400);
  return handler(engine, body, caller);
}
