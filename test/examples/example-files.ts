/** Reads the example GitOps repo and the CloudFormation YAML in it, for the tests in this folder. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, type Tags } from 'yaml';
import type { Snapshot } from '../../common/plan';
import type { CommitInfo } from '../../common/types';

/** Root of the project. */
export const ROOT = path.resolve(__dirname, '..', '..');
/** The example GitOps repo. */
export const EXAMPLE_REPO = path.join(ROOT, 'examples', 'gitops-repo');

/** Every file of the example, by its path inside the repo (`/`-separated), as git would hold them. */
export function exampleFiles(dir = EXAMPLE_REPO, prefix = ''): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) Object.assign(files, exampleFiles(path.join(dir, entry.name), relative));
    else files[relative] = readFileSync(path.join(dir, entry.name), 'utf8');
  }
  return files;
}

/** The example as the tree of its first commit on main. */
export function exampleSnapshot(): Snapshot {
  const commit: CommitInfo = {
    sha: 'e'.repeat(40),
    generation: 1,
    author: { name: 'Dana Developer', email: 'dana@example.com' },
    message: 'Initial commit: the example GitOps repo',
    date: '2026-01-05T09:00:00Z',
  };
  return { commit, files: exampleFiles() };
}

/** CloudFormation's short-form intrinsics, as their long form (`!Sub x` → `{ 'Fn::Sub': x }`). */
const INTRINSICS = ['Ref', 'Condition', 'Sub', 'GetAtt', 'Join', 'Select', 'Split', 'If', 'Equals', 'Not', 'And', 'Or', 'FindInMap', 'Base64', 'GetAZs', 'ImportValue', 'Cidr', 'Transform'];

const cfnTags: Tags = INTRINSICS.flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  return [
    { tag: `!${name}`, resolve: (value: string) => ({ [key]: value }) },
    { tag: `!${name}`, collection: 'seq' as const, resolve: (value: { toJSON(): unknown }) => ({ [key]: value.toJSON() }) },
    { tag: `!${name}`, collection: 'map' as const, resolve: (value: { toJSON(): unknown }) => ({ [key]: value.toJSON() }) },
  ];
});

/** The parts of a template the tests read. */
export interface Template {
  Parameters: Record<string, { Type: string; Default?: string }>;
  Resources: Record<string, { Type: string; Properties: Record<string, any> }>;
  Outputs: Record<string, { Value: unknown }>;
}

/** A template of the example's `common/` folder, short-form intrinsics in their long form. */
export function readTemplate(file: 'pipeline.yaml' | 'environment.yaml'): Template {
  return parse(readFileSync(path.join(EXAMPLE_REPO, 'common', file), 'utf8'), { customTags: cfnTags }) as Template;
}

/** The one resource of a type in a template. */
export function resourceOfType(template: Template, type: string): { logicalId: string; properties: Record<string, any> } {
  const found = Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return { logicalId: found[0]![0], properties: found[0]![1].Properties };
}
