import { createHash } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ActivityFailure } from '@temporalio/common';
import { WorkflowType } from '../common/messages';
import type { PlannedEnvironment } from '../common/plan';
import { templateStoreWorkflowId, type StoreTemplatesInput, type TemplateRef, type TemplateRefs } from '../common/templates';
import type { DesiredState } from '../common/types';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Hashes each distinct body once: every sync of a push carries the same two template strings. */
function hasher(): (body: string) => string {
  const known = new Map<string, string>();
  return (body) => {
    let hash = known.get(body);
    if (hash === undefined) known.set(body, (hash = sha256(body)));
    return hash;
  };
}

/**
 * Stores the push's templates by hash in the artifact bucket (one small workflow per bucket and
 * template pair, normally one per push) and swaps each sync's bodies for their hashes, so the
 * bodies cross Temporal once per push instead of once per environment and activity.
 * @returns the environments whose templates could not be stored, with why (their syncs are not
 * submitted; deletes need no templates).
 */
export async function storeTemplates(client: Client, taskQueue: string, environments: PlannedEnvironment[]): Promise<Map<PlannedEnvironment, string>> {
  const hashOf = hasher();
  const groups = new Map<string, { input: StoreTemplatesInput; members: PlannedEnvironment[] }>();
  for (const planned of environments) {
    const desired = planned.desired;
    if (!desired?.templates) continue;
    const { pipeline, environment } = desired.templates;
    const hashes = { pipeline: hashOf(pipeline), environment: hashOf(environment) };
    const { artifactBucket: bucket, region } = desired.settings;
    const key = sha256(JSON.stringify([bucket, region ?? '', hashes.pipeline, hashes.environment]));
    const group = groups.get(key) ?? {
      input: { bucket, region, templates: [{ sha256: hashes.pipeline, body: pipeline }, ...(hashes.environment === hashes.pipeline ? [] : [{ sha256: hashes.environment, body: environment }])] },
      members: [],
    };
    group.members.push(planned);
    groups.set(key, group);
  }
  const failed = new Map<PlannedEnvironment, string>();
  await Promise.all(
    [...groups].map(async ([key, { input, members }]) => {
      try {
        const stored = await client.workflow.execute<(input: StoreTemplatesInput) => Promise<TemplateRef[]>>(WorkflowType.TemplateStore, {
          workflowId: templateStoreWorkflowId(key),
          taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
          staticSummary: `store ${input.templates.length} template(s) in ${input.bucket}`,
        });
        const byHash = new Map(stored.map((ref) => [ref.sha256, ref]));
        for (const planned of members) planned.desired = byReference(planned.desired!, byHash, hashOf);
      } catch (error) {
        for (const planned of members) failed.set(planned, `${planned.environment}: not submitted: ${storeFailure(error)}`);
      }
    }),
  );
  return failed;
}

/** What went wrong storing, as the activity said it (under the workflow and activity wrappers). */
function storeFailure(error: unknown): string {
  let current = error;
  while ((current instanceof WorkflowFailedError || current instanceof ActivityFailure) && current.cause) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

/** The desired state with its template bodies replaced by their stored hashes. */
function byReference(desired: DesiredState, stored: Map<string, TemplateRef>, hashOf: (body: string) => string): DesiredState {
  const { templates, ...rest } = desired;
  const ref = (body: string): TemplateRef => stored.get(hashOf(body))!;
  const templateRefs: TemplateRefs = { pipeline: ref(templates!.pipeline), environment: ref(templates!.environment) };
  return { ...rest, templateRefs };
}
