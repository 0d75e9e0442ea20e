import { strToU8, unzipSync, zipSync } from 'fflate';
import type { CloudFormationEngine } from '../cloudformation/engine';
import type { StackRecord, StackStatus } from '../cloudformation/model';
import { AwsError } from '../errors';
import { suffix } from '../random';
import type { S3Store } from '../s3';
import type { ParameterInput } from '../template';
import type { ActionRecord, ArtifactRecord, ExecutionRecord } from './model';

/**
 * What the actions of a pipeline do: the S3 source action reads its object, the CloudFormation
 * deploy action creates, updates or deletes the stack it names; other providers only take time.
 */

/** What actions reach: S3 and the CloudFormation engine of a region. */
export interface ActionEnvironment {
  s3: S3Store;
  cloudFormation(region: string): CloudFormationEngine;
}

/** How an action goes on after it started. */
export type ActionStart =
  | {
      kind: 'done';
      ok: boolean;
      message?: string;
      summary?: string;
      outputArtifacts?: ArtifactRecord[];
      outputVariables?: Record<string, string>;
      externalExecutionId?: string;
      revision?: { revisionId: string; revisionSummary?: string; created: number; changeId: string };
    }
  | { kind: 'wait'; region: string; stackName: string; stackId: string; operationId: string; then?: 'create' };

/** Replaces `#{variables.X}`, `#{codepipeline.PipelineExecutionId}` and `#{Namespace.Var}` in a configuration value. */
export function resolveVariables(text: string, execution: ExecutionRecord): string {
  return text.replace(/#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_.]+)\}/g, (whole, namespace: string, name: string) => {
    if (namespace === 'variables') {
      const found = execution.variables.find((v) => v.name === name);
      return found ? found.resolvedValue : whole;
    }
    if (namespace === 'codepipeline' && name === 'PipelineExecutionId') return execution.id;
    const value = execution.outputVariables[namespace]?.[name];
    return value ?? whole;
  });
}

const FAILED_TO_REPLACE = new Set<StackStatus>(['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'CREATE_FAILED', 'DELETE_FAILED', 'UPDATE_ROLLBACK_FAILED']);

/** Runs the start of an action; the engine times the rest. */
export function startAction(env: ActionEnvironment, execution: ExecutionRecord, action: ActionRecord, delayMs: number | undefined): ActionStart {
  const provider = action.actionTypeId.provider;
  const category = action.actionTypeId.category;
  try {
    if (category === 'Source' && provider === 'S3') return s3Source(env, action);
    if (category === 'Deploy' && provider === 'CloudFormation') return deploy(env, execution, action, delayMs);
    if (category === 'Approval') return { kind: 'done', ok: true, summary: 'Approved' };
    // Any other provider (CodeBuild, Lambda, ...) simply succeeds after its delay, passing inputs through.
    const outputs: ArtifactRecord[] = [];
    const firstInput = action.inputArtifacts[0] ? execution.artifacts[action.inputArtifacts[0].name] : undefined;
    for (const out of action.outputArtifacts) outputs.push({ name: out.name, data: firstInput?.data ?? emptyZip() });
    return { kind: 'done', ok: true, outputArtifacts: outputs, externalExecutionId: suffix(12, true) };
  } catch (error) {
    return { kind: 'done', ok: false, message: (error as Error).message };
  }
}

function emptyZip(): string {
  return Buffer.from(zipSync({})).toString('base64');
}

function s3Source(env: ActionEnvironment, action: ActionRecord): ActionStart {
  const bucket = action.resolvedConfiguration.S3Bucket;
  const key = action.resolvedConfiguration.S3ObjectKey;
  if (!env.s3.buckets.has(bucket)) {
    return { kind: 'done', ok: false, message: `The specified bucket does not exist: ${bucket}` };
  }
  let object;
  try {
    object = env.s3.getObject(bucket, key);
  } catch (error) {
    if (error instanceof AwsError && error.code === 'NoSuchKey') {
      return { kind: 'done', ok: false, message: `The object with key '${key}' does not exist in bucket '${bucket}'.` };
    }
    throw error;
  }
  const outputs = action.outputArtifacts.map((o) => ({
    name: o.name,
    data: object.body.toString('base64'),
    revisionId: object.versionId,
  }));
  const summary = object.metadata['codepipeline-artifact-revision-summary'] ?? `Amazon S3 version id: ${object.versionId}`;
  return {
    kind: 'done',
    ok: true,
    outputArtifacts: outputs,
    outputVariables: { ETag: object.etag.replace(/"/g, ''), VersionId: object.versionId, ObjectKey: key },
    externalExecutionId: object.versionId,
    summary,
    revision: {
      revisionId: object.versionId,
      revisionSummary: summary,
      created: object.lastModified,
      changeId: object.etag.replace(/"/g, ''),
    },
  };
}

/** Reads `Artifact::path/in/zip` from the execution's artifacts. */
function readArtifactFile(execution: ExecutionRecord, action: ActionRecord, ref: string): string {
  const sep = ref.indexOf('::');
  if (sep < 0) throw new Error(`The TemplatePath ${ref} is invalid. It must be in the form ArtifactName::TemplateFileName.`);
  const artifactName = ref.slice(0, sep);
  const path = ref.slice(sep + 2);
  if (!action.inputArtifacts.some((a) => a.name === artifactName)) {
    throw new Error(`Artifact ${artifactName} is not an input artifact of the action.`);
  }
  const artifact = execution.artifacts[artifactName];
  if (!artifact) throw new Error(`Input artifact ${artifactName} was not found.`);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(Buffer.from(artifact.data, 'base64'));
  } catch {
    throw new Error(`Artifact ${artifactName} is not a zip file.`);
  }
  const file = files[path] ?? files[path.replace(/^\.\//, '')];
  if (!file) throw new Error(`File ${path} does not exist in artifact ${artifactName}`);
  return Buffer.from(file).toString('utf8');
}

function deploy(env: ActionEnvironment, execution: ExecutionRecord, action: ActionRecord, delayMs: number | undefined): ActionStart {
  const config = action.resolvedConfiguration;
  const mode = config.ActionMode ?? 'CREATE_UPDATE';
  const stackName = config.StackName;
  if (!stackName) return { kind: 'done', ok: false, message: 'Configuration StackName is required.' };
  const cfn = env.cloudFormation(action.region);
  const existing = cfn.find(stackName);
  if (mode === 'DELETE_ONLY') {
    if (!existing) return { kind: 'done', ok: true, summary: `Stack ${stackName} does not exist; nothing to delete.` };
    cfn.deleteStack({ stackName, roleArn: config.RoleArn, delayMs });
    const op = existing.operation;
    if (!op) return { kind: 'done', ok: true, summary: 'Stack deleted' };
    return { kind: 'wait', region: action.region, stackName, stackId: existing.stackId, operationId: op.operationId };
  }
  if (mode !== 'CREATE_UPDATE' && mode !== 'REPLACE_ON_FAILURE') {
    if (mode === 'CHANGE_SET_REPLACE' || mode === 'CHANGE_SET_EXECUTE') {
      return { kind: 'done', ok: true, summary: `${mode} completed` };
    }
    return { kind: 'done', ok: false, message: `ActionMode ${mode} is not valid.` };
  }
  if (mode === 'REPLACE_ON_FAILURE' && existing && FAILED_TO_REPLACE.has(existing.status)) {
    cfn.deleteStack({ stackName, roleArn: config.RoleArn, delayMs });
    const op = existing.operation;
    if (op) return { kind: 'wait', region: action.region, stackName, stackId: existing.stackId, operationId: op.operationId, then: 'create' };
  }
  return createOrUpdate(env, execution, action, delayMs);
}

/** Creates or updates the stack a deploy action names (also the second half of REPLACE_ON_FAILURE). */
export function createOrUpdate(env: ActionEnvironment, execution: ExecutionRecord, action: ActionRecord, delayMs: number | undefined): ActionStart {
  const config = action.resolvedConfiguration;
  const stackName = config.StackName;
  const cfn = env.cloudFormation(action.region);
  if (!config.TemplatePath) return { kind: 'done', ok: false, message: 'Configuration TemplatePath is required.' };
  const templateBody = readArtifactFile(execution, action, config.TemplatePath);
  const overrides: Record<string, string> = {};
  const tags: { Key: string; Value: string }[] = [];
  if (config.TemplateConfiguration) {
    const parsed = JSON.parse(readArtifactFile(execution, action, config.TemplateConfiguration)) as {
      Parameters?: Record<string, unknown>;
      Tags?: Record<string, unknown>;
    };
    for (const [k, v] of Object.entries(parsed.Parameters ?? {})) overrides[k] = String(v);
    for (const [k, v] of Object.entries(parsed.Tags ?? {})) tags.push({ Key: k, Value: String(v) });
  }
  if (config.ParameterOverrides) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(config.ParameterOverrides);
    } catch {
      return { kind: 'done', ok: false, message: 'ParameterOverrides must be valid JSON.' };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { kind: 'done', ok: false, message: 'ParameterOverrides must be a JSON object.' };
    }
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) overrides[k] = String(v);
  }
  const capabilities = (config.Capabilities ?? '').split(',').map((c) => c.trim()).filter((c) => c.length > 0);
  const existing = cfn.find(stackName);
  const parameters: ParameterInput[] = Object.entries(overrides).map(([key, value]) => ({ key, value }));
  try {
    if (!existing) {
      const started = cfn.createStack({
        stackName,
        templateBody,
        parameters,
        capabilities,
        tags,
        roleArn: config.RoleArn,
        notificationArns: [],
        delayMs,
      });
      return { kind: 'wait', region: action.region, stackName, stackId: started.stackId, operationId: started.operationId as string };
    }
    // Parameters the action does not set keep their previous value when the template has no default.
    const info = cfn.loadTemplate(templateBody, undefined);
    for (const [key, decl] of info.parameters) {
      if (key in overrides || decl.defaultValue !== undefined || !(key in existing.parameters)) continue;
      parameters.push({ key, usePreviousValue: true });
    }
    const started = cfn.updateStack({
      stackName,
      templateBody,
      parameters,
      capabilities,
      tags: tags.length > 0 ? tags : undefined,
      roleArn: config.RoleArn,
      delayMs,
    });
    return { kind: 'wait', region: action.region, stackName, stackId: started.stackId, operationId: started.operationId as string };
  } catch (error) {
    if (error instanceof AwsError && error.message === 'No updates are to be performed.') {
      return { kind: 'done', ok: true, summary: 'No updates are to be performed.', outputVariables: outputsOf(existing) };
    }
    if (error instanceof AwsError) return { kind: 'done', ok: false, message: error.message };
    throw error;
  }
}

/** Stack outputs as action output variables. */
export function outputsOf(stack: StackRecord | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of stack?.outputs ?? []) out[o.key] = o.value;
  return out;
}

/** Whether a deploy action succeeded, given the final status of its stack operation. */
export function deployResult(
  action: ActionRecord,
  stack: StackRecord,
  status: StackStatus,
  failureReason?: string,
): { ok: boolean; message?: string; summary?: string } {
  const mode = action.resolvedConfiguration.ActionMode ?? 'CREATE_UPDATE';
  if (mode === 'DELETE_ONLY' || action.waitFor?.then === 'create') {
    if (status === 'DELETE_COMPLETE') return { ok: true, summary: 'Stack deleted' };
    return { ok: false, message: `Stack ${stack.stackName} failed to delete: ${status}${failureReason ? `: ${failureReason}` : ''}` };
  }
  if (status === 'CREATE_COMPLETE' || status === 'UPDATE_COMPLETE') {
    return { ok: true, summary: status === 'CREATE_COMPLETE' ? 'Stack created' : 'Stack updated' };
  }
  return {
    ok: false,
    message: `Stack ${stack.stackName} is in ${status} state${failureReason ? `: ${failureReason}` : ''}`,
  };
}

/** A zip holding the given files (for tests and the benchmark). */
export function zipFiles(files: Record<string, string>): Buffer {
  const entries: Record<string, Uint8Array> = {};
  for (const [name, text] of Object.entries(files)) entries[name] = strToU8(text);
  return Buffer.from(zipSync(entries));
}
