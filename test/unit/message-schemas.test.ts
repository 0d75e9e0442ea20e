/**
 * What the environment workflow says of a malformed message: one line, the path to the field
 * and what is wrong with it. These lines end up in the Temporal UI's current details and in the
 * refusal of an Update.
 */
import {
  approvalDecisionSchema,
  cancelRequestSchema,
  deploymentProgressSchema,
  desiredStateSchema,
  healSchema,
  messageProblem,
  syncReportSchema,
} from '../../common/message-schemas';
import { codePointLength } from '../../common/validate';
import { desiredState } from '../support/workflow-fixtures';

const sha = 'a1b2c3d'.padEnd(40, '0');
const hash = 'e'.repeat(64);
const sync = desiredState('prod', { sha: 'a1b2c3d', generation: 3, appVersion: '1.4.2' });
/** The sync desired state with `change` applied to a copy. */
function desired(change: (value: Record<string, any>) => void): unknown {
  const copy = structuredClone(sync) as Record<string, any>;
  change(copy);
  return copy;
}

describe('messageProblem', () => {
  it.each([
    ['a sync', sync],
    ['a delete', desiredState('prod', { sha: 'a1b2c3d', generation: 3, action: 'delete' })],
    ['templates by hash, a committer, follows, extra keys', desired((d) => {
      delete d.templates;
      d.templateRefs = { pipeline: { sha256: hash, bytes: 0 }, environment: { sha256: hash, bytes: 1_048_576 } };
      d.commit.committer = { name: 'Wes Writer', email: 'wes@example.com' };
      d.follows = sha;
      d.addedLater = { anything: [1, 2] };
    })],
    ['follows null (nothing taken yet)', desired((d) => (d.follows = null))],
    ['optional fields present as undefined', desired((d) => Object.assign(d, { redeploy: undefined, pushedBy: undefined, follows: undefined }))],
    ['generation 0', desired((d) => (d.commit.generation = 0))],
    ['freeze windows from common/gitops.yaml', desired((d) => (d.settings.freeze = [
      { environments: ['prod', 'staging*'], reason: 'year-end', start: '2026-12-20T00:00:00.000Z', end: '2027-01-02T00:00:00.000Z' },
      { environments: ['prod'], reason: 'weekend', cron: '0 18 * * 5', durationMs: 223_200_000 },
    ]))],
    ['2,000 emoji for a reason (4,000 UTF-16 units)', desired((d) => (d.reason = '😀'.repeat(2_000)))],
  ])('takes a desired state: %s', (_name, value) => {
    expect(messageProblem(desiredStateSchema, value)).toBeUndefined();
  });

  it.each([
    ['not an object', null, 'expected object, received null'],
    ['an array', [sync], 'expected object, received array'],
    ['a folder name with an underscore', desired((d) => (d.environment = 'feature_x')), 'environment: environment is a folder name: letters, digits and hyphens'],
    ['an unknown action', desired((d) => (d.action = 'deploy')), 'action: expected one of sync, delete'],
    ['a short SHA', desired((d) => (d.commit.sha = 'a1b2c3d')), 'commit.sha: commit.sha is a 40-character SHA'],
    ['a SHA that is a number', desired((d) => (d.commit.sha = 42)), 'commit.sha: expected string, received number'],
    ['a negative generation', desired((d) => (d.commit.generation = -1)), 'commit.generation: at least 0'],
    ['a fractional generation', desired((d) => (d.commit.generation = 1.5)), 'commit.generation: expected an integer'],
    ['a generation past 2^53', desired((d) => (d.commit.generation = 2 ** 53)), 'commit.generation: expected a safe integer'],
    ['NaN for a generation', desired((d) => (d.commit.generation = NaN)), 'commit.generation: expected number, received NaN'],
    ['no author', desired((d) => delete d.commit.author), 'commit.author: expected object, received undefined'],
    ['a null committer', desired((d) => (d.commit.committer = null)), 'commit.committer: expected object, received null'],
    ['a 2,001-character reason', desired((d) => (d.reason = 'x'.repeat(2_001))), 'reason: at most 2000 characters'],
    ['10,001 protected environments', desired((d) => (d.settings.protectedEnvironments = Array(10_001).fill('prod'))), 'settings.protectedEnvironments: at most 10000 items'],
    ['a protected environment that is not text', desired((d) => (d.settings.protectedEnvironments = ['prod', 7])), 'settings.protectedEnvironments.1: expected string, received number'],
    ['an empty app version', desired((d) => (d.config.appVersion = '')), 'config.appVersion: at least 1 character'],
    ['a parameter that is a number', desired((d) => (d.config.parameters = { InstanceType: 't3.micro', Count: 2 })), 'config.parameters.Count: expected string, received number'],
    ['a parameter name of 256 characters', desired((d) => (d.config.parameters = { ['P'.repeat(256)]: 'x' })), `config.parameters.${'P'.repeat(256)}: key: at most 255 characters`],
    ['parameters as a list', desired((d) => (d.config.parameters = ['a=b'])), 'config.parameters: expected object, received array'],
    ['a pipeline template body of 51,201 characters', desired((d) => (d.templates.pipeline = 'x'.repeat(51_201))), 'templates.pipeline: at most 51200 characters'],
    ['a template hash in upper case', desired((d) => (d.templateRefs = { pipeline: { sha256: hash.toUpperCase(), bytes: 1 }, environment: { sha256: hash, bytes: 1 } })), `templateRefs.pipeline.sha256: must match ${/^[0-9a-f]{64}$/}`],
    ['a template past 1 MB', desired((d) => (d.templateRefs = { pipeline: { sha256: hash, bytes: 1 }, environment: { sha256: hash, bytes: 1_048_577 } })), 'templateRefs.environment.bytes: at most 1048576'],
    ['freeze as one window, not a list', desired((d) => (d.settings.freeze = { environments: ['prod'], reason: 'r' })), 'settings.freeze: expected array, received object'],
    ['a freeze window with a weekly rule that does not read', desired((d) => (d.settings.freeze = [{ environments: ['prod'], reason: 'r', cron: 'fridays', durationMs: 1 }])), 'settings.freeze.0.cron: a weekly rule such as "0 18 * * 5"'],
    ['a freeze window naming a path', desired((d) => (d.settings.freeze = [{ environments: ['../prod'], reason: 'r' }])), 'settings.freeze.0.environments.0: an environment name or pattern'],
    ['a freeze window with a blank reason', desired((d) => (d.settings.freeze = [{ environments: ['prod'], reason: ' ' }])), 'settings.freeze.0.reason: at least 1 character'],
    ['a freeze window a fortnight long', desired((d) => (d.settings.freeze = [{ environments: ['prod'], reason: 'r', cron: '0 18 * * 5', durationMs: 14 * 86_400_000 }])), 'settings.freeze.0.durationMs: at most 604800000'],
    ['repoProtected as text', desired((d) => (d.repoProtected = 'false')), 'repoProtected: expected boolean, received string'],
    ['follows a short SHA', desired((d) => (d.follows = 'a1b2c3d')), `follows: must match ${/^[0-9a-f]{40}$/}`],
  ])('refuses a desired state with %s', (_name, value, problem) => {
    expect(messageProblem(desiredStateSchema, value)).toBe(problem);
  });

  it('says the first problem, in the order of the fields', () => {
    const twice = desired((d) => {
      d.reason = 7;
      d.commit.sha = 'nope';
    });
    expect(messageProblem(desiredStateSchema, twice)).toBe('commit.sha: commit.sha is a 40-character SHA');
    // Too many items is said before a bad item.
    expect(messageProblem(syncReportSchema, { status: 'Drifted', checkedAt: 'now', drifted: [7, ...Array(1_000).fill('Bucket')] })).toBe('drifted: at most 1000 items');
    expect(messageProblem(syncReportSchema, { status: 'Drifted', checkedAt: 'now', drifted: ['Bucket', 7] })).toBe('drifted.1: expected string, received number');
  });

  it('judges "by" once trimmed, and counts characters as code points', () => {
    expect(messageProblem(approvalDecisionSchema, { by: 'Avery Approver', version: '1.4.2', comment: 'ok' })).toBeUndefined();
    expect(messageProblem(approvalDecisionSchema, { by: ' \t\n' })).toBe('by: "by" names the person deciding');
    expect(messageProblem(approvalDecisionSchema, { by: '\u00a0' })).toBe('by: "by" names the person deciding');
    expect(messageProblem(approvalDecisionSchema, {})).toBe('by: expected string, received undefined');
    expect(messageProblem(approvalDecisionSchema, { by: `${' '.repeat(300)}Avery${' '.repeat(300)}` })).toBeUndefined();
    expect(messageProblem(approvalDecisionSchema, { by: '😀'.repeat(256) })).toBeUndefined();
    expect(messageProblem(approvalDecisionSchema, { by: '😀'.repeat(257) })).toBe('by: at most 256 characters');
    expect(messageProblem(approvalDecisionSchema, { by: 'Avery', version: null })).toBe('version: expected string, received null');
    expect(codePointLength('😀\ud83dx\ude00')).toBe(4);
  });

  it('says what is wrong with a cancel, a sync report, a heal and a deployment progress', () => {
    expect(messageProblem(cancelRequestSchema, {})).toBeUndefined();
    expect(messageProblem(cancelRequestSchema, 'stop')).toBe('expected object, received string');
    expect(messageProblem(cancelRequestSchema, { by: 'Carol', reason: 'x'.repeat(2_001) })).toBe('reason: at most 2000 characters');

    expect(messageProblem(syncReportSchema, { status: 'Synced', checkedAt: '2026-12-01T00:00:00Z', drifted: [] })).toBeUndefined();
    expect(messageProblem(syncReportSchema, { status: 'synced', checkedAt: 'now', drifted: [] })).toBe(
      'status: expected one of Synced, OutOfSync, Drifted, Missing, Orphaned, Progressing, Unknown, Expired',
    );

    expect(messageProblem(healSchema, { reason: 'drifted' })).toBeUndefined();
    expect(messageProblem(healSchema, { reason: 7 })).toBe('reason: expected string, received number');

    expect(messageProblem(deploymentProgressSchema, { number: 1, phase: 'RunningPipeline', pipelineExecutionId: 'exec-1' })).toBeUndefined();
    expect(messageProblem(deploymentProgressSchema, { number: 0, phase: 'RunningPipeline' })).toBe('number: at least 1');
    expect(messageProblem(deploymentProgressSchema, { number: 'one', phase: 'RunningPipeline' })).toBe('number: expected number, received string');
    expect(messageProblem(deploymentProgressSchema, { number: Infinity, phase: 'RunningPipeline' })).toBe('number: expected number, received Infinity');
    expect(messageProblem(deploymentProgressSchema, { number: 2, phase: 'Running' })).toMatch(/^phase: expected one of Idle, Queued, /);
  });
});
