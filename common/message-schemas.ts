import { z } from 'zod';
import { ENVIRONMENT_NAME_PATTERN } from './names';
import { SHA256_PATTERN } from './templates';
import { Action, DeployPhase, SyncStatus } from './types';

/**
 * Schemas of every message the environment workflow takes. Anyone who can reach Temporal can
 * send anything (`temporal workflow signal --input null`), so each handler checks its input
 * here before it touches state: an Update is refused, a signal is logged and ignored.
 *
 * Objects are loose (unknown keys pass) and handlers keep the value they were given, not the
 * parsed one: a signal recorded in a running workflow's history is handled on replay exactly
 * as it was then.
 */

/** Longest free text a message may carry (names, comments, reasons). */
const TEXT = 2_000;
/** Longest commit message kept with a desired state. */
const COMMIT_MESSAGE = 64 * 1024;
/** CloudFormation's limits: a template body, and a template through S3. */
const TEMPLATE_BODY = 51_200;
const TEMPLATE_S3 = 1_048_576;

const text = (max = TEXT) => z.string().max(max);
const templateRef = z.looseObject({ sha256: z.string().regex(SHA256_PATTERN), bytes: z.number().int().min(0).max(TEMPLATE_S3) });
const person = z.looseObject({ name: text(), email: text() });

const commitSchema = z.looseObject({
  sha: z.string().regex(/^[0-9a-f]{40}$/, 'commit.sha is a 40-character SHA'),
  generation: z.number().int().nonnegative(),
  author: person,
  committer: person.optional(),
  message: text(COMMIT_MESSAGE),
  date: text(64),
});

/** A desired state, as the starter builds it from git. */
export const desiredStateSchema = z.looseObject({
  environment: z.string().regex(ENVIRONMENT_NAME_PATTERN, 'environment is a folder name: letters, digits and hyphens'),
  action: z.enum([Action.Sync, Action.Delete]),
  commit: commitSchema,
  reason: text(),
  settings: z.looseObject({
    stackPrefix: text(64),
    region: text(64).optional(),
    artifactBucket: text(255),
    protectedEnvironments: z.array(text(256)).max(10_000),
  }),
  config: z
    .looseObject({
      appVersion: z.string().min(1).max(4_096),
      parameters: z.record(z.string().max(255), z.string().max(4_096)),
      protected: z.boolean().optional(),
      description: text().optional(),
    })
    .optional(),
  templates: z.looseObject({ pipeline: z.string().max(TEMPLATE_BODY), environment: z.string().max(TEMPLATE_S3) }).optional(),
  templateRefs: z.looseObject({ pipeline: templateRef, environment: templateRef }).optional(),
  repoProtected: z.boolean(),
  redeploy: z.boolean().optional(),
  pushedBy: text(256).optional(),
  follows: z.string().regex(/^[0-9a-f]{40}$/).nullable().optional(),
});

/** Approve and reject. */
export const approvalDecisionSchema = z.looseObject({
  by: z.string().trim().min(1, '"by" names the person deciding').max(256),
  version: text(256).optional(),
  comment: text().optional(),
});

/** Cancel. */
export const cancelRequestSchema = z.looseObject({ by: text(256).optional(), reason: text().optional() });

/** The drift sweep's finding. */
export const syncReportSchema = z.looseObject({
  status: z.enum(Object.values(SyncStatus) as [SyncStatus, ...SyncStatus[]]),
  checkedAt: text(64),
  desiredVersion: text(4_096).optional(),
  deployedVersion: text(4_096).optional(),
  drifted: z.array(text()).max(1_000),
  message: text(8_192).optional(),
});

/** Self-heal. */
export const healSchema = z.looseObject({ reason: text() });

/** A deployment child's progress. */
export const deploymentProgressSchema = z.looseObject({
  number: z.number().int().positive(),
  phase: z.enum(Object.values(DeployPhase) as [DeployPhase, ...DeployPhase[]]),
  pipelineExecutionId: text(256).optional(),
});

/** Why a message does not fit its schema, in one line: `commit.sha: commit.sha is a 40-character SHA`. */
export function messageProblem(schema: z.ZodType, value: unknown): string | undefined {
  const result = schema.safeParse(value);
  if (result.success) return undefined;
  const issue = result.error.issues[0]!;
  const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
  return `${where}${issue.message}`;
}
