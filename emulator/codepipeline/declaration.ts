import { isObject, type Json, type JsonObject } from '../json';
import type { ActionDeclaration, ExecutionMode, PipelineDeclaration, StageDeclaration } from './model';

/**
 * Turns the properties of an `AWS::CodePipeline::Pipeline` resource (PascalCase, any JSON
 * values) into the API's PipelineDeclaration (camelCase, configuration values as strings), and
 * checks it as CreatePipeline would.
 */

/** A declaration CodePipeline refuses; the message is what the service says. */
export class InvalidPipelineError extends Error {
  override readonly name = 'InvalidPipelineError';
  constructor(
    message: string,
    /** The CodePipeline error code (InvalidStructureException, ValidationException, ...). */
    readonly code: string,
  ) {
    super(message);
  }
}

function str(value: Json | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function artifactStore(value: Json | undefined): PipelineDeclaration['artifactStore'] {
  if (!isObject(value)) return undefined;
  const key = isObject(value.EncryptionKey) ? value.EncryptionKey : undefined;
  return {
    type: str(value.Type) ?? 'S3',
    location: str(value.Location) ?? '',
    encryptionKey: key ? { id: str(key.Id) ?? '', type: str(key.Type) ?? 'KMS' } : undefined,
  };
}

/**
 * The declaration for a pipeline resource.
 * @throws InvalidPipelineError when CodePipeline would refuse it.
 */
export function declarationFromProperties(name: string, props: JsonObject | undefined, version: number): PipelineDeclaration {
  const p = props ?? {};
  const stages: StageDeclaration[] = (Array.isArray(p.Stages) ? p.Stages : []).filter(isObject).map((s) => ({
    name: str(s.Name) ?? '',
    blockers: Array.isArray(s.Blockers)
      ? s.Blockers.filter(isObject).map((b) => ({ name: str(b.Name) ?? '', type: str(b.Type) ?? 'Schedule' }))
      : undefined,
    actions: (Array.isArray(s.Actions) ? s.Actions : []).filter(isObject).map((a): ActionDeclaration => {
      const type = isObject(a.ActionTypeId) ? a.ActionTypeId : {};
      const configuration: Record<string, string> = {};
      if (isObject(a.Configuration)) {
        for (const [k, v] of Object.entries(a.Configuration)) {
          const text = str(v);
          if (text !== undefined) configuration[k] = text;
        }
      }
      return {
        name: str(a.Name) ?? '',
        actionTypeId: {
          category: str(type.Category) ?? '',
          owner: str(type.Owner) ?? 'AWS',
          provider: str(type.Provider) ?? '',
          version: str(type.Version) ?? '1',
        },
        runOrder: a.RunOrder === undefined ? 1 : Number(a.RunOrder),
        configuration,
        outputArtifacts: Array.isArray(a.OutputArtifacts)
          ? a.OutputArtifacts.filter(isObject).map((o) => ({ name: str(o.Name) ?? '' }))
          : [],
        inputArtifacts: Array.isArray(a.InputArtifacts) ? a.InputArtifacts.filter(isObject).map((o) => ({ name: str(o.Name) ?? '' })) : [],
        roleArn: str(a.RoleArn),
        region: str(a.Region),
        namespace: str(a.Namespace),
        timeoutInMinutes: a.TimeoutInMinutes === undefined ? undefined : Number(a.TimeoutInMinutes),
      };
    }),
  }));
  const artifactStores = Array.isArray(p.ArtifactStores)
    ? Object.fromEntries(
        p.ArtifactStores.filter(isObject).map((entry) => [str(entry.Region) ?? '', artifactStore(entry.ArtifactStore) as NonNullable<PipelineDeclaration['artifactStore']>]),
      )
    : undefined;
  const declaration: PipelineDeclaration = {
    name,
    roleArn: str(p.RoleArn) ?? '',
    artifactStore: artifactStore(p.ArtifactStore),
    artifactStores,
    stages,
    version,
    executionMode: (str(p.ExecutionMode) as ExecutionMode | undefined) ?? 'SUPERSEDED',
    pipelineType: str(p.PipelineType) === 'V2' ? 'V2' : 'V1',
    variables: Array.isArray(p.Variables)
      ? p.Variables.filter(isObject).map((v) => ({ name: str(v.Name) ?? '', defaultValue: str(v.DefaultValue), description: str(v.Description) }))
      : undefined,
    triggers: Array.isArray(p.Triggers) ? (p.Triggers as unknown[]) : undefined,
  };
  validateDeclaration(declaration);
  return declaration;
}

const NAME = /^[A-Za-z0-9.@\-_]+$/;

/** @throws InvalidPipelineError when CodePipeline would refuse the declaration. */
export function validateDeclaration(d: PipelineDeclaration): void {
  if (!NAME.test(d.name) || d.name.length > 100) {
    throw new InvalidPipelineError(
      `1 validation error detected: Value '${d.name}' at 'pipeline.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+`,
      'ValidationException',
    );
  }
  if (!d.roleArn) throw new InvalidPipelineError("1 validation error detected: Value null at 'pipeline.roleArn' failed to satisfy constraint: Member must not be null", 'ValidationException');
  if (!d.artifactStore && !d.artifactStores) {
    throw new InvalidPipelineError('Pipeline must have either artifactStore or artifactStores', 'InvalidStructureException');
  }
  if (!['QUEUED', 'SUPERSEDED', 'PARALLEL'].includes(d.executionMode)) {
    throw new InvalidPipelineError(
      `1 validation error detected: Value '${d.executionMode}' at 'pipeline.executionMode' failed to satisfy constraint: Member must satisfy enum value set: [QUEUED, SUPERSEDED, PARALLEL]`,
      'ValidationException',
    );
  }
  if (d.executionMode !== 'SUPERSEDED' && d.pipelineType !== 'V2') {
    throw new InvalidPipelineError(`ExecutionMode ${d.executionMode} is only supported for pipeline type V2`, 'ValidationException');
  }
  if (d.variables && d.variables.length > 0 && d.pipelineType !== 'V2') {
    throw new InvalidPipelineError('Pipeline variables are only supported for pipeline type V2', 'ValidationException');
  }
  if (d.stages.length < 2) throw new InvalidPipelineError('Pipeline has fewer than 2 stages.', 'InvalidStructureException');
  const stageNames = new Set<string>();
  const produced = new Set<string>();
  for (const [index, stage] of d.stages.entries()) {
    if (stageNames.has(stage.name)) throw new InvalidPipelineError(`Stage names must be unique: ${stage.name}`, 'InvalidStructureException');
    stageNames.add(stage.name);
    if (stage.actions.length === 0) {
      throw new InvalidPipelineError(`Stage ${stage.name} must contain at least one action.`, 'InvalidStructureException');
    }
    const actionNames = new Set<string>();
    for (const action of stage.actions) {
      if (actionNames.has(action.name)) {
        throw new InvalidPipelineError(`Action names must be unique within a stage: ${action.name}`, 'InvalidStructureException');
      }
      actionNames.add(action.name);
      const isSource = action.actionTypeId.category === 'Source';
      if (index === 0 && !isSource) {
        throw new InvalidPipelineError(`Action '${action.name}' in the first stage must be a source action.`, 'InvalidStructureException');
      }
      if (index > 0 && isSource) {
        throw new InvalidPipelineError(`Source action '${action.name}' must be in the first stage.`, 'InvalidStructureException');
      }
      for (const input of action.inputArtifacts ?? []) {
        if (!produced.has(input.name)) {
          throw new InvalidPipelineError(
            `Input Artifact Bundle ${input.name} in action '${action.name}' is not declared as an output artifact in any of the actions before it.`,
            'InvalidStructureException',
          );
        }
      }
    }
    for (const action of stage.actions) for (const output of action.outputArtifacts ?? []) produced.add(output.name);
  }
  for (const v of d.variables ?? []) {
    if (!/^[A-Za-z0-9@\-_]+$/.test(v.name)) {
      throw new InvalidPipelineError(`Invalid pipeline variable name: ${v.name}`, 'ValidationException');
    }
  }
}
