/**
 * Properties of the planner over random trees and pushes (fast-check shrinks a failure to the
 * smallest tree and push that shows it): every changed environment is planned exactly once per
 * action, no folder holding a config is dropped without a word, and the names of what is planned
 * never meet.
 */
import fc from 'fast-check';
import { parseRepoSettings } from '../../common/config';
import { derivedNames } from '../../common/names';
import { plan, type ChangedPath, type PlanInput, type Snapshot } from '../../common/plan';
import type { RepoSettings } from '../../common/types';
import { commit, config, TEMPLATES } from '../support/fixtures';

/**
 * Folder names, chosen so that names meet: `a-pipeline`'s environment stack is `a`'s pipeline
 * stack, and under the prefixes below `q-a` under `p-` is `a` under `p-q-`. Some cannot be
 * environments at all, and `common` and `.github` are not environments.
 */
const FOLDERS = ['a', 'b', 'a-pipeline', 'a-pipeline-pipeline', 'q-a', 'q-a-pipeline', 'q-b', 'prod', 'feature_x', '9lives', 'café', `l${'o'.repeat(70)}ng`, 'common', '.github'];

const CONFIGS = [
  config('1.0.0'),
  config('1.0.0'),
  config('2.0.0', 'parameters:', '  InstanceType: t3.small'),
  config('3.0.0', 'protected: true'),
  'appVersion: [\n',
  '',
  config('1.0.0', 'parameters:', '  EnvironmentStackName: cfn-gitops-prod'),
  config('1.0.0', `description: ${'x'.repeat(1_001)}`),
];

const SETTINGS = [undefined, 'stackPrefix: p-\n', 'stackPrefix: p-q-\n', 'stackPrefix: cfn-gitops-\nregion: eu-west-1\n', 'stackPrefix: 9\n'];
const PIPELINES = [TEMPLATES['common/pipeline.yaml']!, 'Resources: {}\n', `#${'x'.repeat(1_048_576)}\n`];

/** A repo's whole tree: every file, not only those the planner reads. */
type Tree = Record<string, string>;

const configOf = fc.constantFrom(...CONFIGS);
const folderOf = fc.constantFrom(...FOLDERS);

const treeOf: fc.Arbitrary<Tree> = fc
  .record({
    configs: fc.dictionary(folderOf, configOf, { maxKeys: 8 }),
    notes: fc.subarray(FOLDERS, { maxLength: 3 }),
    settings: fc.constantFrom(...SETTINGS),
    pipeline: fc.constantFrom(...PIPELINES),
  })
  .map(({ configs, notes, settings, pipeline }) => {
    const tree: Tree = { ...TEMPLATES, 'common/pipeline.yaml': pipeline, 'README.md': '# repo\n' };
    if (settings !== undefined) tree['common/gitops.yaml'] = settings;
    for (const [folder, text] of Object.entries(configs)) tree[`${folder}/config.yaml`] = text;
    for (const folder of notes) tree[`${folder}/notes.md`] = 'notes\n';
    return tree;
  });

/** One change a push can make to a tree. */
type Edit =
  | { kind: 'add' | 'change'; folder: string; text: string }
  | { kind: 'remove' | 'touch'; folder: string }
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'settings'; text: string | undefined }
  | { kind: 'pipeline'; text: string };

const editOf: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constantFrom('add' as const, 'change' as const), folder: folderOf, text: configOf }),
  fc.record({ kind: fc.constantFrom('remove' as const, 'touch' as const), folder: folderOf }),
  fc.record({ kind: fc.constant('rename' as const), from: folderOf, to: folderOf }),
  fc.record({ kind: fc.constant('settings' as const), text: fc.constantFrom(...SETTINGS) }),
  fc.record({ kind: fc.constant('pipeline' as const), text: fc.constantFrom(...PIPELINES) }),
);

function applyEdits(tree: Tree, edits: Edit[]): Tree {
  const next = { ...tree };
  const under = (folder: string) => Object.keys(next).filter((path) => path.startsWith(`${folder}/`));
  for (const edit of edits) {
    switch (edit.kind) {
      case 'add':
      case 'change':
        next[`${edit.folder}/config.yaml`] = edit.text;
        break;
      case 'remove':
        for (const path of under(edit.folder)) delete next[path];
        break;
      case 'touch':
        next[`${edit.folder}/notes.md`] = `${next[`${edit.folder}/notes.md`] ?? ''}more\n`;
        break;
      case 'rename':
        if (edit.from === edit.to || under(edit.to).length > 0) break;
        for (const path of under(edit.from)) {
          next[`${edit.to}/${path.slice(edit.from.length + 1)}`] = next[path]!;
          delete next[path];
        }
        break;
      case 'settings':
        if (edit.text === undefined) delete next['common/gitops.yaml'];
        else next['common/gitops.yaml'] = edit.text;
        break;
      case 'pipeline':
        next['common/pipeline.yaml'] = edit.text;
        break;
    }
  }
  return next;
}

/** `git diff --name-status -M` between two trees: a removed file whose content reappears at a new path is a rename. */
function diff(before: Tree, after: Tree): ChangedPath[] {
  const removed = Object.keys(before).filter((path) => !(path in after)).sort();
  const added = Object.keys(after).filter((path) => !(path in before)).sort();
  const changes: ChangedPath[] = Object.keys(after)
    .filter((path) => path in before && before[path] !== after[path])
    .map((path) => ({ path }));
  for (const from of removed) {
    const index = added.findIndex((path) => after[path] === before[from]);
    if (index >= 0) changes.push({ path: added.splice(index, 1)[0]!, from });
    else changes.push({ path: from });
  }
  return [...changes, ...added.map((path) => ({ path }))];
}

/** What the git reader hands the planner: `common/*` and `<folder>/config.yaml`. */
function snapshotOf(tree: Tree, sha: string, generation: number): Snapshot {
  const files: Record<string, string> = {};
  for (const [path, text] of Object.entries(tree)) {
    const parts = path.split('/');
    if (parts.length === 2 && (parts[0] === 'common' || parts[1] === 'config.yaml')) files[path] = text;
  }
  return { commit: commit(sha, generation), files };
}

/** Folders holding a config that are environments by DESIGN §1, worked out independently of the planner. */
function configFolders(tree: Tree): Set<string> {
  return new Set(
    Object.keys(tree)
      .filter((path) => /^[^/]+\/config\.yaml$/.test(path))
      .map((path) => path.split('/')[0]!)
      .filter((folder) => folder !== 'common' && !folder.startsWith('.')),
  );
}

function settingsOf(tree: Tree): RepoSettings | undefined {
  try {
    return parseRepoSettings(tree['common/gitops.yaml'], 'common/gitops.yaml');
  } catch {
    return undefined;
  }
}

const VALID_NAME = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;

const MODES = ['diff', 'first push', 'force push', 'no diff'] as const;
const pushOf = fc.record({ before: treeOf, edits: fc.array(editOf, { maxLength: 6 }), mode: fc.constantFrom(...MODES, 'diff', 'diff') });

function inputFor(push: { before: Tree; after: Tree; mode: (typeof MODES)[number] }): PlanInput {
  const after = snapshotOf(push.after, 'a1', 11);
  if (push.mode === 'first push') return { after };
  if (push.mode === 'force push') return { after, notes: ['before b000000 is not in the history (force push?): planned from the after tree'] };
  const before = snapshotOf(push.before, 'b0', 10);
  if (push.mode === 'no diff') return { after, before };
  return { after, before, changes: diff(push.before, push.after) };
}

const RUNS = { numRuns: 400 };

describe('plan over random trees and pushes', () => {
  it('plans every changed environment exactly once per action, and nothing else', () => {
    fc.assert(
      fc.property(pushOf, ({ before, edits, mode }) => {
        const after = applyEdits(before, edits);
        const result = plan(inputFor({ before, after, mode }));
        const afterFolders = configFolders(after);
        const beforeFolders = configFolders(before);
        const expected = new Set<string>();
        if (mode !== 'diff') {
          for (const folder of afterFolders) expected.add(`${folder} sync`);
        } else {
          const changed = diff(before, after).flatMap((c) => [c.path, c.from]).filter((p): p is string => p !== undefined);
          const commonChanged = changed.some((p) => p.startsWith('common/'));
          for (const folder of afterFolders) {
            if (!beforeFolders.has(folder) || commonChanged || changed.some((p) => p.startsWith(`${folder}/`))) expected.add(`${folder} sync`);
          }
          for (const folder of beforeFolders) if (!afterFolders.has(folder)) expected.add(`${folder} delete`);
        }
        const planned = result.environments.map((e) => `${e.environment} ${e.action}`);
        expect([...planned].sort()).toEqual([...expected].sort());
      }),
      RUNS,
    );
  });

  it('drops no folder holding a config without a word: each entry carries a desired state for it, or an error naming a file', () => {
    fc.assert(
      fc.property(pushOf, ({ before, edits, mode }) => {
        const after = applyEdits(before, edits);
        const result = plan(inputFor({ before, after, mode }));
        for (const entry of result.environments) {
          expect(Boolean(entry.desired) !== Boolean(entry.error)).toBe(true);
          if (entry.desired) {
            expect(entry.desired).toMatchObject({ environment: entry.environment, action: entry.action });
            expect(VALID_NAME.test(entry.environment)).toBe(true);
          } else {
            expect(entry.error!.file === `${entry.environment}/config.yaml` || entry.error!.file.startsWith('common/')).toBe(true);
            expect(entry.error!.message).toContain(entry.error!.file.startsWith('common/') ? entry.error!.file : entry.environment);
          }
        }
      }),
      RUNS,
    );
  });

  it('never plans two environments onto one name, nor a sync onto the running names of another environment', () => {
    fc.assert(
      fc.property(pushOf, ({ before, edits, mode }) => {
        const after = applyEdits(before, edits);
        const input = inputFor({ before, after, mode });
        const result = plan(input);
        const owner = new Map<string, string>();
        for (const entry of result.environments) {
          if (!entry.desired) continue;
          for (const { name } of derivedNames(entry.desired.settings, entry.environment)) {
            const other = owner.get(name);
            expect(other === undefined || other === entry.environment ? 'distinct' : `${name}: ${other} and ${entry.environment}`).toBe('distinct');
            owner.set(name, entry.environment);
          }
        }
        // Against the tree before the push: the names its environments run under.
        const beforeSettings = input.before ? settingsOf(before) : undefined;
        if (!beforeSettings) return;
        const running = new Map<string, string[]>();
        for (const folder of configFolders(before)) {
          if (!VALID_NAME.test(folder)) continue;
          for (const { name } of derivedNames(beforeSettings, folder)) running.set(name, [...(running.get(name) ?? []), folder]);
        }
        for (const entry of result.environments) {
          if (!entry.desired) continue;
          for (const { name } of derivedNames(entry.desired.settings, entry.environment)) {
            const others = (running.get(name) ?? []).filter((folder) => folder !== entry.environment);
            expect(others.length === 0 ? 'free' : `${entry.environment} ${entry.action} ${name}: also ${others.join(', ')}`).toBe('free');
          }
        }
      }),
      RUNS,
    );
  });

  it('moves no environment of both trees to another stackPrefix or region', () => {
    fc.assert(
      fc.property(pushOf, ({ before, edits, mode }) => {
        const after = applyEdits(before, edits);
        const input = inputFor({ before, after, mode });
        const [from, to] = [input.before ? settingsOf(before) : undefined, settingsOf(after)];
        if (!from || !to) return;
        const moved = from.stackPrefix !== to.stackPrefix || from.region !== to.region;
        for (const entry of plan(input).environments) {
          if (entry.desired?.action !== 'sync' || !configFolders(before).has(entry.environment)) continue;
          expect(moved ? `${entry.environment} synced from ${from.stackPrefix} to ${to.stackPrefix}` : 'stays').toBe('stays');
        }
      }),
      RUNS,
    );
  });
});
