/**
 * The message schemas decide as the zod schemas they replaced, for any input: recorded histories
 * hold malformed signals that were ignored and valid ones that were taken, and they must replay
 * the same. The zod schemas below are those of `common/message-schemas.ts` as they were, kept
 * here as the oracle; fast-check sends both random values and near-valid messages (one field or a
 * few wrong, absent, null, of another type, at or past a limit, with extra keys).
 */
import fc from 'fast-check';
import { z } from 'zod';
import {
  approvalDecisionSchema,
  cancelRequestSchema,
  deploymentProgressSchema,
  desiredStateSchema,
  healSchema,
  messageProblem,
  syncReportSchema,
} from '../../common/message-schemas';
import { ENVIRONMENT_NAME_PATTERN } from '../../common/names';
import { SHA256_PATTERN } from '../../common/templates';
import { Action, DeployPhase, SyncStatus } from '../../common/types';
import type { Schema } from '../../common/validate';

/** The zod schemas of the messages, as `common/message-schemas.ts` had them. */
const oracle = (() => {
  const TEXT = 2_000;
  const COMMIT_MESSAGE = 64 * 1024;
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
  return {
    desiredState: z.looseObject({
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
    }),
    approvalDecision: z.looseObject({
      by: z.string().trim().min(1, '"by" names the person deciding').max(256),
      version: text(256).optional(),
      comment: text().optional(),
    }),
    cancelRequest: z.looseObject({ by: text(256).optional(), reason: text().optional() }),
    syncReport: z.looseObject({
      status: z.enum(Object.values(SyncStatus) as [SyncStatus, ...SyncStatus[]]),
      checkedAt: text(64),
      desiredVersion: text(4_096).optional(),
      deployedVersion: text(4_096).optional(),
      drifted: z.array(text()).max(1_000),
      message: text(8_192).optional(),
    }),
    heal: z.looseObject({ reason: text() }),
    deploymentProgress: z.looseObject({
      number: z.number().int().positive(),
      phase: z.enum(Object.values(DeployPhase) as [DeployPhase, ...DeployPhase[]]),
      pipelineExecutionId: text(256).optional(),
    }),
  };
})();

// ---- arbitraries ----

/** A field left out of the message altogether. */
const ABSENT = Symbol('absent');
type Field = fc.Arbitrary<unknown>;

/** Values of the wrong kind for almost any field. */
const wrongKind: Field = fc.oneof(
  fc.constantFrom(ABSENT, null, undefined, 0, -0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, '', ' ', 'x', true, false, [], {}, ['x'], { x: 1 }),
  fc.constantFrom(new Date(0), new Map(), Object.create(null), Object.assign(Object.create(null), { a: 'b' }), [undefined], new String('x')),
  fc.anything({ maxDepth: 2 }),
);

/** Values that are not messages at all, or arrays and primitives where a message belongs. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 3, withNullPrototype: true, withMap: true, withSet: true, withDate: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true }),
  wrongKind,
);

/** Characters that count differently in UTF-16 units and code points, and whitespace that trims. */
const CHARS = ['x', '😀', '\ud83d', '\ude00', ' ', '\t', '\n', '\u00a0', '\ufeff', '\u2028', '\u200b', 'é'];

/**
 * Strings about a length limit, `max + 1` code points only when `over`: a run of one character,
 * sometimes with another at the end (so a surrogate pair can straddle the limit).
 */
const aroundLimit = (max: number, over = true): fc.Arbitrary<string> =>
  fc
    .record({ n: fc.constantFrom(max - 1, max, ...(over ? [max + 1] : [])), fill: fc.constantFrom(...CHARS), last: fc.constantFrom('', ...CHARS) })
    .filter(({ n }) => n >= 1)
    .map(({ n, fill, last }) => fill.repeat(last ? n - 1 : n) + last);

/** Short text of any kind: letters, any code point, lone surrogates, whitespace. */
const shortText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.array(fc.constantFrom(...CHARS), { maxLength: 8 }).map((chars) => chars.join('')),
);

const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
/** Near misses of a hex SHA: a digit short or over, upper case, a newline after it, a space inside. */
const nearHex = (length: number): Field =>
  fc.oneof(hex(length - 1), hex(length + 1), hex(length).map((s) => s.toUpperCase()), hex(length).map((s) => `${s}\n`), hex(length).map((s) => `${s.slice(1)} `), fc.string({ maxLength: 50 }));

/** Integers about the edges: zero, negative zero, the safe range, fractions. */
const integerEdges = (min: number, max = Number.MAX_SAFE_INTEGER): Field =>
  fc.oneof(
    fc.constantFrom(min - 1, min, min + 1, max - 1, max, max + 1, -0, 0.5, 1.5, -1, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.MAX_VALUE, Number.EPSILON),
    fc.double(),
    fc.integer(),
  );

/** Parameters of a config that fit: string to string, keys and values up to their limits. */
const goodParameters: Field = fc.oneof(
  fc.dictionary(shortText, shortText, { maxKeys: 4 }),
  fc.tuple(aroundLimit(255, false), aroundLimit(4_096, false)).map(([key, value]) => ({ Env: 'prod', [key]: value })),
  fc.constantFrom(JSON.parse('{"__proto__": 7, "Env": "prod"}'), Object.assign(Object.create(null), { Env: 'prod' }), Object.defineProperty({ Env: 'prod' }, 'hidden', { value: 7, enumerable: false })),
);
/** Parameters that may not: keys and values past their limits, values of other kinds, objects that are not plain. */
const nearParameters: Field = fc.oneof(
  fc.tuple(aroundLimit(255), aroundLimit(4_096)).map(([key, value]) => ({ Env: 'prod', [key]: value })),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(shortText, wrongKind), { maxKeys: 3 }),
  fc.constantFrom(
    Object.assign(Object.create(null), { Env: 7 }),
    { Env: 'prod', [Symbol('key')]: 'value' },
    new (class Params {
      Env = 'prod';
    })(),
    new Date(0),
    [],
  ),
);

/**
 * Near-valid messages of every kind. With `noise` 0 every field fits (at its limits too); above
 * that, a field is off (near a rule, or of another kind) `2 * noise` times in `40 + 2 * noise`.
 */
function messages(noise: number) {
  /** A field that is mostly `valid`, sometimes `near` (right kind, maybe wrong) or of the wrong kind. */
  const field = (valid: Field, near: Field = fc.constant(ABSENT)): Field =>
    noise === 0 ? valid : fc.oneof({ weight: 40, arbitrary: valid }, { weight: noise, arbitrary: near }, { weight: noise, arbitrary: wrongKind });
  /** A text field of at most `max` code points; the long limits (64 KB, 1 MB) less often at their edge, for time. */
  const textField = (max: number): Field =>
    field(fc.oneof({ weight: 12, arbitrary: shortText.filter((s) => [...s].length <= max) }, { weight: max > 10_000 ? 1 : 4, arbitrary: aroundLimit(max, false) }), aroundLimit(max));
  /** `inner`, or absent, or undefined. */
  const optional = (inner: Field): Field => fc.oneof({ weight: 3, arbitrary: inner }, { weight: 1, arbitrary: fc.constantFrom(ABSENT, undefined) });
  /** A loose object: the fields (absent ones left out) plus, sometimes, keys of its own. */
  const message = (fields: Record<string, Field>): Field => {
    const extra = fc.oneof(
      { weight: 3, arbitrary: fc.constant({}) },
      { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.anything({ maxDepth: 1 }), { maxKeys: 3 }) },
      { weight: 1, arbitrary: fc.constantFrom({ extra: 1 }, { note: null }, { nested: { deep: [1, 2] } }) },
    );
    return fc
      .tuple(fc.record(fields), extra)
      .map(([values, more]) => Object.fromEntries([...Object.entries(more), ...Object.entries(values).filter(([, value]) => value !== ABSENT)]));
  };
  const integerIn = (min: number, max = 2 ** 31): Field => field(fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max)), integerEdges(min, max));
  const list = (max: number, item: number, fill: string): Field =>
    field(
      fc.oneof(
        { weight: 20, arbitrary: fc.array(shortText.filter((s) => [...s].length <= item), { maxLength: 4 }) },
        { weight: 1, arbitrary: fc.constantFrom(max - 1, max).map((n) => Array<string>(n).fill(fill)) },
      ),
      fc.oneof(
        fc.constantFrom(max, max + 1).map((n) => Array<string>(n).fill(fill)),
        fc.constant([7, ...Array<string>(max).fill(fill)]), // too many and a bad item: which one is said
        fc.array(fc.oneof(aroundLimit(item), wrongKind), { minLength: 1, maxLength: 3 }),
        fc.constant([fill, , fill]), // a hole is an undefined item
      ),
    );
  const person = message({ name: textField(2_000), email: textField(2_000) });
  const templateRef = message({ sha256: field(hex(64), nearHex(64)), bytes: integerIn(0, 1_048_576) });

  const desiredState = message({
    environment: field(
      fc.stringMatching(ENVIRONMENT_NAME_PATTERN),
      fc.oneof(fc.constantFrom('9lives', 'feature_x', 'café', 'prod\n', '-prod', 'prod env', '', `l${'o'.repeat(63)}`, 'p'.repeat(65)), fc.string({ maxLength: 70 })),
    ),
    action: field(fc.constantFrom(Action.Sync, Action.Delete), fc.constantFrom('Sync', 'DELETE', 'sync ', 'deploy')),
    commit: field(
      message({
        sha: field(hex(40), nearHex(40)),
        generation: integerIn(0),
        author: field(person),
        committer: optional(field(person)),
        message: textField(64 * 1024),
        date: textField(64),
      }),
    ),
    reason: textField(2_000),
    settings: field(
      message({
        stackPrefix: textField(64),
        region: optional(textField(64)),
        artifactBucket: textField(255),
        protectedEnvironments: list(10_000, 256, 'prod'),
      }),
    ),
    config: optional(
      field(
        message({
          appVersion: field(fc.oneof(shortText.filter((s) => s.length > 0), aroundLimit(4_096, false)), fc.constantFrom('', ' ', '\ud83d', '😀', 'x'.repeat(4_097), '😀'.repeat(4_097))),
          parameters: field(goodParameters, nearParameters),
          protected: optional(field(fc.boolean(), fc.constantFrom('true', 0, 1))),
          description: optional(textField(2_000)),
        }),
      ),
    ),
    templates: optional(field(message({ pipeline: textField(51_200), environment: textField(1_048_576) }))),
    templateRefs: optional(field(message({ pipeline: field(templateRef), environment: field(templateRef) }))),
    repoProtected: field(fc.boolean(), fc.constantFrom('false', 0)),
    redeploy: optional(field(fc.boolean())),
    pushedBy: optional(textField(256)),
    follows: optional(field(fc.oneof(hex(40), fc.constant(null)), nearHex(40))),
  });

  /** The person deciding: names that fit once trimmed, blank ones, long ones padded with whitespace. */
  const by = field(
    fc.oneof(
      fc.constantFrom('Avery Approver', 'a', ' a ', 'Wes Writer\n', ' '.repeat(300) + 'a', 'a'.padEnd(300, ' '), '😀'.repeat(256), '\u200b'),
      fc.record({ pad: fc.constantFrom('', ' ', '  \t', '\u00a0', '\ufeff'), name: aroundLimit(256, false).filter((s) => s.trim() !== '') }).map(({ pad, name }) => `${pad}${name}${pad}`),
    ),
    fc.oneof(
      fc.constantFrom('', ' ', '\t\n', '\u00a0', '\ufeff', '\u2028', '😀'.repeat(257)),
      fc.record({ pad: fc.constantFrom('', ' ', '\u00a0'), name: aroundLimit(256) }).map(({ pad, name }) => `${pad}${name}${pad}`),
    ),
  );

  return {
    desiredState,
    approvalDecision: message({ by, version: optional(textField(256)), comment: optional(textField(2_000)) }),
    cancelRequest: message({ by: optional(textField(256)), reason: optional(textField(2_000)) }),
    syncReport: message({
      status: field(fc.constantFrom(...Object.values(SyncStatus)), fc.constantFrom('synced', 'InSync', 'Synced ', 'Idle')),
      checkedAt: textField(64),
      desiredVersion: optional(textField(4_096)),
      deployedVersion: optional(textField(4_096)),
      drifted: list(1_000, 2_000, 'Bucket'),
      message: optional(textField(8_192)),
    }),
    heal: message({ reason: textField(2_000) }),
    deploymentProgress: message({
      number: integerIn(1),
      phase: field(fc.constantFrom(...Object.values(DeployPhase)), fc.constantFrom('idle', 'Running', 'Succeeded\n', '__proto__', 'toString')),
      pipelineExecutionId: optional(textField(256)),
    }),
  };
}

type Kind = keyof ReturnType<typeof messages>;
/**
 * Clean, lightly, heavily and mostly off, in equal parts: a desired state has some 35 fields and
 * a heal message one, and each needs messages that fit and messages that do not; a few fields
 * wrong at once test which one is said.
 */
const LEVELS = [0, 1, 4, 40].map(messages);
const nearValid = (kind: Kind): fc.Arbitrary<unknown> => fc.oneof(...LEVELS.map((level) => level[kind]));

/** Where a message can be changed: every key and index inside it (the first few items of an array). */
function pathsIn(value: unknown, prefix: PropertyKey[] = []): PropertyKey[][] {
  if (typeof value !== 'object' || value === null) return [];
  const keys: PropertyKey[] = Array.isArray(value) ? [...value.keys()].slice(0, 3) : Reflect.ownKeys(value);
  return keys.flatMap((key) => [[...prefix, key], ...pathsIn((value as Record<PropertyKey, unknown>)[key], [...prefix, key])]);
}

/** A copy of `value` with what is at `path` replaced (or the key removed, for ABSENT); the rest is shared. */
function withChange(value: unknown, [key, ...rest]: PropertyKey[], replacement: unknown): unknown {
  const source = value as Record<PropertyKey, unknown>;
  const copy = Array.isArray(source) ? [...source] : Object.assign(Object.create(Object.getPrototypeOf(source) as object | null) as object, source);
  const target = copy as Record<PropertyKey, unknown>;
  const next = rest.length ? withChange(source[key!], rest, replacement) : replacement;
  if (next === ABSENT) delete target[key!];
  else target[key!] = next;
  return copy;
}

/** What a field may be changed to: anything, or text at some limit, or a near miss of a SHA or of parameters. */
const replacement: Field = fc.oneof(wrongKind, anyValue, fc.constantFrom(64, 255, 256, 2_000, 4_096).chain((max) => aroundLimit(max)), nearHex(40), nearParameters, goodParameters);

/** A message that fits with one field, anywhere in it, changed. */
const oneFieldChanged = (kind: Kind): fc.Arbitrary<unknown> =>
  LEVELS[0]![kind].chain((clean) => {
    const paths = pathsIn(clean);
    if (!paths.length) return fc.constant(clean);
    return fc.tuple(fc.constantFrom(...paths), replacement).map(([path, value]) => withChange(clean, path, value));
  });

const MESSAGES: { name: string; schema: Schema; zod: z.ZodType; kind: Kind; runs: number }[] = [
  { name: 'desired state', schema: desiredStateSchema, zod: oracle.desiredState, kind: 'desiredState', runs: 1_000 },
  { name: 'approval decision', schema: approvalDecisionSchema, zod: oracle.approvalDecision, kind: 'approvalDecision', runs: 600 },
  { name: 'cancel request', schema: cancelRequestSchema, zod: oracle.cancelRequest, kind: 'cancelRequest', runs: 400 },
  { name: 'sync report', schema: syncReportSchema, zod: oracle.syncReport, kind: 'syncReport', runs: 600 },
  { name: 'heal', schema: healSchema, zod: oracle.heal, kind: 'heal', runs: 300 },
  { name: 'deployment progress', schema: deploymentProgressSchema, zod: oracle.deploymentProgress, kind: 'deploymentProgress', runs: 600 },
];

/** zod's answer: `fits`, or where its first issue is. */
function zodVerdict(schema: z.ZodType, value: unknown): string {
  const result = schema.safeParse(value);
  return result.success ? 'fits' : `refused at "${result.error.issues[0]!.path.map(String).join('.')}"`;
}

/** The schema's answer in the same words. */
function verdict(schema: Schema, value: unknown): string {
  const found = schema(value);
  return found ? `refused at "${found.path.map(String).join('.')}"` : 'fits';
}

describe.each(MESSAGES)('the $name schema', ({ schema, zod, kind, runs }) => {
  it('takes what zod took and refuses what zod refused, blaming the same field, for near-valid messages', () => {
    fc.assert(
      fc.property(nearValid(kind), (input) => {
        expect(verdict(schema, input)).toBe(zodVerdict(zod, input));
      }),
      { numRuns: runs },
    );
  });

  it('agrees with zod when one field of a message that fits is changed', () => {
    fc.assert(
      fc.property(oneFieldChanged(kind), (input) => {
        expect(verdict(schema, input)).toBe(zodVerdict(zod, input));
      }),
      { numRuns: runs },
    );
  });

  it('agrees with zod on values of any kind', () => {
    fc.assert(
      fc.property(anyValue, (input) => {
        expect(verdict(schema, input)).toBe(zodVerdict(zod, input));
      }),
      { numRuns: 300 },
    );
  });

  it('draws both messages that fit and messages that do not (so the property above can fail)', () => {
    const verdicts = fc.sample(nearValid(kind), { numRuns: 300, seed: 42 }).map((input) => zodVerdict(zod, input));
    expect(verdicts.filter((v) => v === 'fits').length).toBeGreaterThan(30);
    expect(verdicts.filter((v) => v !== 'fits').length).toBeGreaterThan(30);
  });
});
