import { isWeeklyRule } from './freeze';
import { ENVIRONMENT_NAME_PATTERN } from './names';
import { SHA256_PATTERN } from './templates';
import { Action, DeployPhase, SyncStatus } from './types';
import { array, boolean, describeProblem, integer, nullable, object, oneOf, optional, record, text, type Schema } from './validate';

/**
 * Schemas of every message the environment workflow takes. Anyone who can reach Temporal can
 * send anything (`temporal workflow signal --input null`), so each handler checks its input
 * here before it touches state: an Update is refused, a signal is logged and ignored.
 *
 * Objects are loose (unknown keys pass) and handlers keep the value they were given: a signal
 * recorded in a running workflow's history is handled on replay exactly as it was then, and a
 * change to what these rules accept needs a `patched()` guard. They are written with
 * `./validate`, not zod: this module is part of the workflow bundle, whose modules load anew for
 * every workflow instance.
 */

/** Longest free text a message may carry (names, comments, reasons). */
const TEXT = 2_000;
/** Longest commit message kept with a desired state. */
const COMMIT_MESSAGE = 64 * 1024;
/** CloudFormation's limits: a template body, and a template through S3. */
const TEMPLATE_BODY = 51_200;
const TEMPLATE_S3 = 1_048_576;
const GIT_SHA = /^[0-9a-f]{40}$/;

const upTo = (max = TEXT) => text({ max });
const templateRef = object({ sha256: text({ pattern: SHA256_PATTERN }), bytes: integer({ min: 0, max: TEMPLATE_S3 }) });
const person = object({ name: upTo(), email: upTo() });

const commitSchema = object({
  sha: text({ pattern: GIT_SHA, patternMessage: 'commit.sha is a 40-character SHA' }),
  generation: integer({ min: 0 }),
  author: person,
  committer: optional(person),
  message: upTo(COMMIT_MESSAGE),
  date: upTo(64),
});

/** A weekly rule the workflow can decide with (`0 18 * * 5`). */
const weeklyRule: Schema = (value) =>
  text({ max: 64 })(value) ?? (isWeeklyRule(value as string) ? undefined : { path: [], message: 'a weekly rule such as "0 18 * * 5"' });

/**
 * A window of `freeze:` in `common/gitops.yaml`, as `parseFreezeWindows` gave it. Added with the
 * setting: no message recorded before it carries `settings.freeze`, so none replays differently.
 */
const freezeWindow = object({
  environments: array(text({ max: 256, pattern: /^[A-Za-z0-9*?-]+$/, patternMessage: 'an environment name or pattern' }), { max: 10_000 }),
  reason: text({ trim: true, min: 1, max: TEXT }),
  start: optional(upTo(64)),
  end: optional(upTo(64)),
  cron: optional(weeklyRule),
  durationMs: optional(integer({ min: 1, max: 7 * 86_400_000 })),
});

/** A desired state, as the starter builds it from git. */
export const desiredStateSchema: Schema = object({
  environment: text({ pattern: ENVIRONMENT_NAME_PATTERN, patternMessage: 'environment is a folder name: letters, digits and hyphens' }),
  action: oneOf([Action.Sync, Action.Delete]),
  commit: commitSchema,
  reason: upTo(),
  settings: object({
    stackPrefix: upTo(64),
    region: optional(upTo(64)),
    artifactBucket: upTo(255),
    protectedEnvironments: array(upTo(256), { max: 10_000 }),
    freeze: optional(array(freezeWindow, { max: 10_000 })),
  }),
  config: optional(
    object({
      appVersion: text({ min: 1, max: 4_096 }),
      parameters: record(upTo(255), upTo(4_096)),
      protected: optional(boolean()),
      description: optional(upTo()),
      expires: optional(upTo(64)),
      ttl: optional(upTo(64)),
    }),
  ),
  templates: optional(object({ pipeline: upTo(TEMPLATE_BODY), environment: upTo(TEMPLATE_S3) })),
  templateRefs: optional(object({ pipeline: templateRef, environment: templateRef })),
  repoProtected: boolean(),
  redeploy: optional(boolean()),
  pushedBy: optional(upTo(256)),
  follows: optional(nullable(text({ pattern: GIT_SHA }))),
});

/** Approve and reject. */
export const approvalDecisionSchema: Schema = object({
  by: text({ trim: true, min: 1, minMessage: '"by" names the person deciding', max: 256 }),
  version: optional(upTo(256)),
  comment: optional(upTo()),
  overrideFreeze: optional(boolean()),
});

/** `cfn-gitops freeze`. */
export const freezeRequestSchema: Schema = object({
  reason: text({ trim: true, min: 1, minMessage: '"reason" says why the environment is frozen', max: TEXT }),
  by: optional(upTo(256)),
  until: optional(upTo(64)),
});

/** `cfn-gitops unfreeze`. */
export const unfreezeRequestSchema: Schema = object({ by: optional(upTo(256)) });

/** Cancel. */
export const cancelRequestSchema: Schema = object({ by: optional(upTo(256)), reason: optional(upTo()) });

/** The drift sweep's finding. */
export const syncReportSchema: Schema = object({
  status: oneOf(Object.values(SyncStatus)),
  checkedAt: upTo(64),
  desiredVersion: optional(upTo(4_096)),
  deployedVersion: optional(upTo(4_096)),
  drifted: array(upTo(), { max: 1_000 }),
  message: optional(upTo(8_192)),
});

/** Self-heal. */
export const healSchema: Schema = object({ reason: upTo() });

/** A deployment child's progress. */
export const deploymentProgressSchema: Schema = object({
  number: integer({ min: 1 }),
  phase: oneOf(Object.values(DeployPhase)),
  pipelineExecutionId: optional(upTo(256)),
});

/** A watch of one request (`start --wait`). */
export const watchRequestSchema: Schema = object({
  commit: text({ pattern: GIT_SHA, patternMessage: 'a 40-character SHA' }),
  action: oneOf([Action.Sync, Action.Delete]),
  seenPhases: optional(integer({ min: 0 })),
});

/**
 * Why a message does not fit its schema, in one line, or undefined when it fits.
 * @example messageProblem(healSchema, { reason: 7 }) // 'reason: expected string, received number'
 */
export function messageProblem(schema: Schema, value: unknown): string | undefined {
  return describeProblem(schema, value);
}
