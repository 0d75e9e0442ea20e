import { z } from 'zod';
import { isMap, isSeq, LineCounter, parseDocument, visit, type Node } from 'yaml';
import { ConfigError } from './errors';
import { DEFAULT_ARTIFACT_BUCKET, DEFAULT_STACK_PREFIX } from './names';
import type { EnvironmentConfig, RepoSettings } from './types';

/** YAML scalars users write for parameters (`Count: 2`, `Public: true`) are passed to CloudFormation as strings. */
const parameterValue = z.union([z.string(), z.number(), z.boolean()]).transform((value) => String(value));

/** Schema of `<env>/config.yaml`. Unknown keys are refused so that a typo is not silently ignored. */
export const environmentConfigSchema = z
  .object({
    appVersion: z
      .union([z.string(), z.number()])
      .transform((value) => String(value))
      .pipe(z.string().min(1, 'appVersion must not be empty')),
    artifact: z
      .object({ bucket: z.string().optional(), key: z.string().optional(), image: z.string().optional() })
      .strict()
      .optional(),
    parameters: z.record(z.string().regex(/^[A-Za-z0-9]+$/, 'parameter names are alphanumeric'), parameterValue).default({}),
    protected: z.boolean().optional(),
    description: z.string().optional(),
  })
  .strict();

/** Schema of `common/gitops.yaml`; every field is optional. */
export const repoSettingsSchema = z
  .object({
    stackPrefix: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,40}$/, 'stackPrefix starts with a letter and holds letters, digits and hyphens')
      .default(DEFAULT_STACK_PREFIX),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'region looks like eu-west-1').optional(),
    artifactBucket: z.string().min(3).default(DEFAULT_ARTIFACT_BUCKET),
    protectedEnvironments: z.array(z.string()).default([]),
  })
  .strict();

/** Parses YAML and validates it, mapping the first problem to its line. */
function parseWithSchema<T>(
  schema: z.ZodType<T>,
  text: string,
  file: string,
  environment: string | undefined,
  emptyValue: unknown,
): T {
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
