import { z } from 'zod';
import { isMap, isSeq, LineCounter, parseDocument, visit, type Node } from 'yaml';
import { parseDuration } from './duration';
import { ConfigError, FreezeWindowError } from './errors';
import { parseFreezeWindows } from './freeze';
import { DEFAULT_ARTIFACT_BUCKET, DEFAULT_STACK_PREFIX, ORCHESTRATOR_PARAMETERS } from './names';
import type { EnvironmentConfig, RepoSettings } from './types';

/**
 * Sizes past which AWS (or the payloads that carry a desired state) would refuse a file or a
 * value late, after a submit; the planner refuses them first, naming the limit.
 */
export const LIMITS = {
  /** A config file (`<env>/config.yaml`, `common/gitops.yaml`): far above any real one, far below a payload. */
  configFileBytes: 65_536,
  /** Both `common/` templates reach CloudFormation through S3 (TemplateURL): its limit is 1 MB. */
  templateBytes: 1_048_576,
  /** `description` is shown in status and the dashboard. */
  descriptionChars: 1_000,
  /** `appVersion` becomes the pipeline variable AppVersion: CodePipeline's limit on a variable value. */
  appVersionChars: 1_000,
  /** A CloudFormation parameter value. */
  parameterValueBytes: 4_096,
  /** A CloudFormation parameter name (a logical id). */
  parameterNameChars: 255,
  /** CloudFormation's limit on parameters per template. */
  parameters: 200,
  /** An S3 bucket name. */
  bucketNameChars: 63,
  /** An S3 object key. */
  objectKeyBytes: 1_024,
} as const;

/**
 * Bytes of `text` in UTF-8, as git stores it and AWS counts it (pure: no Buffer in common/).
 * @example utf8Length('é') // 2
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair is one code point of 4 bytes.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** A number as people read it in a limit: 65536 → "65,536". */
export function formatCount(count: number): string {
  return String(count).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

const maxBytes = (limit: number, why: string) => (value: string) =>
  utf8Length(value) <= limit || `at most ${formatCount(limit)} bytes, ${why} (this one has ${formatCount(utf8Length(value))}); shorten it`;
const maxChars = (limit: number, why?: string) => (value: string) =>
  value.length <= limit || `at most ${formatCount(limit)} characters${why ? `, ${why}` : ''} (this one has ${formatCount(value.length)}); shorten it`;

/** A string checked by a limit that says which limit and the size found. */
function limited(check: (value: string) => true | string) {
  return z.string().check((ctx) => {
    const verdict = check(ctx.value);
    if (verdict !== true) ctx.issues.push({ code: 'custom', message: verdict, input: ctx.value });
  });
}

/** Why a config may not set this parameter, with the fix; undefined when it may. */
function reservedParameterProblem(name: string): string | undefined {
  const reserved = ORCHESTRATOR_PARAMETERS.find((p) => p.toLowerCase() === name.toLowerCase());
  if (!reserved) return undefined;
  const instead: Record<string, string> = {
    AppVersion: 'set the version with appVersion',
    ArtifactSourceBucket: 'use artifact.bucket',
    ArtifactKey: 'use artifact.key',
    ArtifactImage: 'use artifact.image',
    ArtifactBucket: 'set artifactBucket in common/gitops.yaml',
  };
  const fix = instead[reserved] ?? `an environment's stacks and pipeline are named from its folder and stackPrefix in common/gitops.yaml; use appVersion/artifact for the version`;
  return `${reserved} is set by cfn-gitops; remove it (${fix})`;
}

/** YAML scalars users write for parameters (`Count: 2`, `Public: true`) are passed to CloudFormation as strings. */
const parameterValue = z
  .union([z.string(), z.number(), z.boolean()])
  .transform((value) => String(value))
  .pipe(limited(maxBytes(LIMITS.parameterValueBytes, 'CloudFormation\'s limit on a parameter value')));

/** A parameter name CloudFormation accepts and cfn-gitops does not pass itself. */
const parameterName = z
  .string()
  .regex(/^[A-Za-z0-9]+$/, 'parameter names are alphanumeric')
  .pipe(limited(maxChars(LIMITS.parameterNameChars, 'CloudFormation\'s limit on a parameter name')))
  .pipe(limited((name) => reservedParameterProblem(name) ?? true));

const EXPIRES_FORM = 'expires is a date or a time with its zone, e.g. 2026-12-31 or 2026-12-31T18:00:00Z';
const TTL_FORM = 'ttl is how long after the first deploy the environment expires, e.g. 7d, 12h or 30m';

/** Schema of `<env>/config.yaml`. Unknown keys are refused so that a typo is not silently ignored. */
export const environmentConfigSchema = z
  .object({
    appVersion: z
      .union([z.string(), z.number()])
      .transform((value) => String(value))
      .pipe(z.string().min(1, 'appVersion must not be empty'))
      .pipe(limited(maxChars(LIMITS.appVersionChars, 'CodePipeline\'s limit on the AppVersion variable'))),
    artifact: z
      .object({
        bucket: limited(maxChars(LIMITS.bucketNameChars, 'S3\'s limit on a bucket name')).optional(),
        key: limited(maxBytes(LIMITS.objectKeyBytes, 'S3\'s limit on an object key')).optional(),
        image: limited(maxBytes(LIMITS.parameterValueBytes, 'CloudFormation\'s limit on a parameter value')).optional(),
      })
      .strict()
      .optional(),
    parameters: z
      .record(parameterName, parameterValue)
      .refine((parameters) => Object.keys(parameters).length <= LIMITS.parameters, {
        message: `at most ${LIMITS.parameters} parameters (CloudFormation's limit per template)`,
      })
      .default({}),
    protected: z.boolean().optional(),
    // Raises the orchestrator's count, never lowers it; more than one makes the environment protected.
    requiredApprovals: z.coerce.number().int('a whole number of people').min(1, 'at least 1').max(10, 'at most 10').optional(),
    expires: z
      .string({ error: EXPIRES_FORM })
      .transform((value, context) => {
        const at = expiresTime(value);
        if (at === undefined) {
          context.addIssue({ code: 'custom', message: EXPIRES_FORM });
          return z.NEVER;
        }
        return at;
      })
      .optional(),
    ttl: z
      .string({ error: TTL_FORM })
      .refine((value) => (durationOrUndefined(value) ?? 0) > 0, { message: TTL_FORM })
      .optional(),
    description: limited(maxChars(LIMITS.descriptionChars)).optional(),
  })
  .strict()
  .refine((config) => config.expires === undefined || config.ttl === undefined, { message: 'set expires or ttl, not both: remove one of them', path: ['ttl'] });

/**
 * `expires:` as an ISO-8601 time: a date is its 00:00 UTC; a time needs its zone (`Z` or
 * `+01:00`), so that every worker reads the same moment. Undefined when it is neither.
 * @example expiresTime('2026-12-31') // '2026-12-31T00:00:00.000Z'
 */
function expiresTime(value: string): string | undefined {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
  const at = Date.parse(value);
  return (date || time) && !Number.isNaN(at) ? new Date(at).toISOString() : undefined;
}

/** Schema of `common/gitops.yaml`; every field is optional. */
export const repoSettingsSchema = z
  .object({
    stackPrefix: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,40}$/, 'stackPrefix starts with a letter and holds letters, digits and hyphens')
      .default(DEFAULT_STACK_PREFIX),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'region looks like eu-west-1').optional(),
    artifactBucket: z.string().min(3).max(LIMITS.bucketNameChars).default(DEFAULT_ARTIFACT_BUCKET),
    protectedEnvironments: z.array(z.string()).default([]),
    waves: z
      .array(
        z
          .array(z.string().regex(/^[A-Za-z0-9*?-]+$/, 'a wave lists environment names or patterns (letters, digits, hyphens, * and ?), e.g. [development, "feature*"]'), {
            error: 'each wave is a list of environment names or patterns, e.g. waves: [[development, "feature*"], [staging], [prod]]',
          })
          .min(1, 'a wave lists at least one environment or pattern; remove the empty wave'),
        { error: 'waves is a list of waves, each a list of environment names or patterns, e.g. waves: [[development, "feature*"], [staging], [prod]]' },
      )
      .min(1, 'waves lists at least one wave; remove the key for no waves')
      .optional(),
    bake: z
      .string({ error: 'bake is a duration such as 10m, 30s or 1h' })
      .refine((value) => durationOrUndefined(value) !== undefined, { message: 'bake is a duration such as 10m, 30s or 1h' })
      .optional(),
    freeze: z
      .unknown()
      .transform((value, context) => {
        try {
          return parseFreezeWindows(isoTimes(value), 'freeze');
        } catch (error) {
          if (!(error instanceof FreezeWindowError)) throw error;
          // Said at the window's field, so the error's line is where the fix goes.
          const path = [...(error.index === undefined ? [] : [error.index]), ...(error.field === undefined ? [] : [error.field])];
          context.addIssue({ code: 'custom', message: error.problem, path });
          return z.NEVER;
        }
      })
      .optional(),
  })
  .strict()
  .refine((settings) => settings.bake === undefined || settings.waves !== undefined, { message: 'bake is the wait between waves: set waves too, or remove bake', path: ['bake'] });

/**
 * `freeze:` as plain data: YAML reads an unquoted time as text, but as a Date under `%YAML 1.1`
 * or `!!timestamp`; a window's `start` and `end` become ISO-8601 text either way.
 */
function isoTimes(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return value.map((item: unknown) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
    return Object.fromEntries(Object.entries(item).map(([key, field]) => [key, field instanceof Date && !Number.isNaN(field.getTime()) ? field.toISOString() : field]));
  });
}

/** The milliseconds of a duration setting, or undefined when it is not one. */
function durationOrUndefined(value: string): number | undefined {
  try {
    return parseDuration(value);
  } catch {
    return undefined;
  }
}

/** Parses YAML and validates it, mapping the first problem to its line. */
function parseWithSchema<T>(
  schema: z.ZodType<T>,
  text: string,
  file: string,
  environment: string | undefined,
  emptyValue: unknown,
): T {
  // Checked before parsing: a 10 MB file would otherwise be parsed, planned and refused by AWS late.
  const bytes = utf8Length(text);
  if (bytes > LIMITS.configFileBytes) {
    throw new ConfigError(
      file,
      undefined,
      environment,
      `the file is ${formatCount(bytes)} bytes; a config file holds at most ${formatCount(LIMITS.configFileBytes)} bytes (64 KB): keep large data out of it (templates go in common/, artifacts in S3)`,
    );
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = lineCounter.linePos(first.pos[0]).line;
    throw new ConfigError(file, line, environment, `not valid YAML: ${first.message.split('\n')[0]}`);
  }
  // No field is numeric: keep numbers as written, so `appVersion: 1.10` stays "1.10", not "1.1".
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'number' && node.source !== undefined) node.value = node.source;
    },
  });
  const value = doc.contents === null ? emptyValue : doc.toJS();
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path as (string | number)[];
  // An unknown key is reported at the key itself, not at the map holding it.
  const node = nodeAt(doc.contents as Node | null, issue.code === 'unrecognized_keys' ? [...path, issue.keys[0]!] : path);
  const line = node?.range ? lineCounter.linePos(node.range[0]).line : 1;
  const where = issue.path.length > 0 ? issue.path.join('.') : 'the file';
  throw new ConfigError(file, line, environment, `${where}: ${describeIssue(issue, schema)}`);
}

/** The deepest YAML node along a path that exists, so a missing key points at its parent. */
function nodeAt(root: Node | null, path: (string | number)[]): Node | null {
  let node = root;
  for (const [index, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((item) => String((item.key as { value?: unknown })?.value) === String(key));
      if (!pair) return node;
      // The last key is reported where it is written, even when its value starts on a later line.
      node = index === path.length - 1 ? (pair.key as Node) : ((pair.value as Node | null) ?? (pair.key as Node));
    } else if (isSeq(node) && typeof key === 'number') {
      node = (node.items[key] as Node | undefined) ?? node;
    } else {
      return node;
    }
  }
  return node;
}

function describeIssue(issue: z.core.$ZodIssue, schema: z.ZodType): string {
  if (issue.code === 'unrecognized_keys') {
    const allowed = objectKeysAt(schema, issue.path as (string | number)[]);
    return `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}${allowed ? `; allowed keys are ${allowed.join(', ')}` : ''}`;
  }
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_union') && issue.input === undefined) return 'is required';
  if (issue.code === 'invalid_union') return issue.errors[0]?.[0]?.message ?? issue.message;
  if (issue.code === 'invalid_key') return issue.issues[0]?.message ?? issue.message;
  return issue.message;
}

/** Keys of the object schema at a path (through optional and default wrappers), for "allowed keys are …". */
function objectKeysAt(schema: z.ZodType, path: (string | number)[]): string[] | undefined {
  let current: unknown = schema;
  for (let index = 0; ; index++) {
    while (current instanceof z.ZodOptional || current instanceof z.ZodDefault) current = current.unwrap();
    if (!(current instanceof z.ZodObject)) return undefined;
    if (index === path.length) return Object.keys(current.shape);
    current = current.shape[String(path[index])];
  }
}

/**
 * Validates an environment's config file.
 * @throws ConfigError with file, line, environment and the fix.
 * @example parseEnvironmentConfig('appVersion: "1.2.0"\n', 'prod/config.yaml', 'prod')
 */
export function parseEnvironmentConfig(text: string, file: string, environment: string): EnvironmentConfig {
  return parseWithSchema(environmentConfigSchema, text, file, environment, {}) as EnvironmentConfig;
}

/**
 * Validates `common/gitops.yaml`; absent text gives the defaults.
 * @throws ConfigError naming the file and line.
 */
export function parseRepoSettings(text: string | undefined, file: string): RepoSettings {
  if (text === undefined) return repoSettingsSchema.parse({}) as RepoSettings;
  return parseWithSchema(repoSettingsSchema, text, file, undefined, {}) as RepoSettings;
}

/**
 * The line a top-level key is written on, for errors about a setting that parses but may not
 * change; undefined when the key is absent or the text is not a YAML map.
 * @example keyLine('# settings\nstackPrefix: acme-\n', 'stackPrefix') // 2
 */
export function keyLine(text: string | undefined, key: string): number | undefined {
  if (text === undefined || utf8Length(text) > LIMITS.configFileBytes) return undefined;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (!isMap(doc.contents)) return undefined;
  const pair = doc.contents.items.find((item) => String((item.key as { value?: unknown })?.value) === key);
  const node = pair?.key as Node | undefined;
  return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
}
