import { formatCount, keyLine, LIMITS, parseEnvironmentConfig, parseRepoSettings, utf8Length } from './config';
import { BOOTSTRAP_STACK_NAME } from './bootstrap';
import { ConfigError } from './errors';
import { matchesAny } from './patterns';
import { assignWaves, bakeMs } from './rollout';
import {
  COMMON_DIR,
  CONFIG_FILE,
  derivedNames,
  type DerivedName,
  ENVIRONMENT_NAME_PATTERN,
  ENVIRONMENT_TEMPLATE,
  PIPELINE_NAME_MAX_LENGTH,
  PIPELINE_TEMPLATE,
  pipelineName,
  quoteName,
  REPO_SETTINGS_FILE,
} from './names';
import { Action, type CommitInfo, type DesiredState, type RepoSettings } from './types';

/** One tree of the GitOps repo: the commit and the files the planner reads (`common/*`, `<env>/config.yaml`). */
export interface Snapshot {
  commit: CommitInfo;
  /** Path → content. Other files need not be present: the diff says whether they changed. */
  files: Record<string, string>;
}

/** A path the push changed, as `git diff --name-status` reports it. */
export interface ChangedPath {
  path: string;
  /** For renames and copies, the path it came from. */
  from?: string;
}

/** The planner's input: gathered from git by the starter, nothing else. */
export interface PlanInput {
  after: Snapshot;
  /** The tree at `before`; absent on the first push or when `before` is not in the history. */
  before?: Snapshot;
  /** Changed paths between the trees; absent means plan from the `after` tree alone. */
  changes?: ChangedPath[];
  /** What the shell already knows, e.g. "before abc1234 is not in the history (force push)". */
  notes?: string[];
}

/** What the planner found wrong in one environment, in a form that survives JSON. */
export interface PlanError {
  file: string;
  line?: number;
  message: string;
}

/** One environment's part of the plan. */
export interface PlannedEnvironment {
  environment: string;
  action: Action;
  /** Why: "added", "config changed", "common/ changed", "removed", "renamed to X", "first push", … */
  reason: string;
  /** What to submit to the environment workflow; absent when the environment has an error. */
  desired?: DesiredState;
  error?: PlanError;
}

/** The plan for one push: one entry per affected environment, sorted by name. */
export interface Plan {
  before?: string;
  after: string;
  notes: string[];
  environments: PlannedEnvironment[];
  /**
   * With `waves:` in `common/gitops.yaml`: the plan's environments wave by wave (those no
   * pattern matches last, none empty) and the wait between waves. Absent: every environment at once.
   */
  rollout?: { waves: string[][]; bakeMs: number };
}

/** Top-level folders holding a config file; `common/` and dot-folders are not environments. */
export function environmentsIn(files: Record<string, string>): Set<string> {
  const environments = new Set<string>();
  for (const path of Object.keys(files)) {
    const parts = path.split('/');
    if (parts.length === 2 && parts[1] === CONFIG_FILE && parts[0] !== COMMON_DIR && !parts[0]!.startsWith('.')) {
      environments.add(parts[0]!);
    }
  }
  return environments;
}

function topFolder(path: string): string | undefined {
  const slash = path.indexOf('/');
  return slash > 0 ? path.slice(0, slash) : undefined;
}

function toPlanError(error: unknown, fallbackFile: string): PlanError {
  if (error instanceof ConfigError) return { file: error.file, line: error.line, message: error.message };
  return { file: fallbackFile, message: `${fallbackFile}: ${error instanceof Error ? error.message : String(error)}` };
}

/** Settings of a tree, or the error that stops every sync from it. */
function readSettings(files: Record<string, string>): { settings?: RepoSettings; error?: PlanError } {
  try {
    return { settings: parseRepoSettings(files[REPO_SETTINGS_FILE], REPO_SETTINGS_FILE) };
  } catch (error) {
    return { error: toPlanError(error, REPO_SETTINGS_FILE) };
  }
}

/** A template every sync needs that is missing or larger than AWS takes; deletes need none. */
function templateProblem(files: Record<string, string>): PlanError | undefined {
  const how = 'CloudFormation takes a template from S3 of at most';
  const limit = LIMITS.templateBytes;
  for (const file of [PIPELINE_TEMPLATE, ENVIRONMENT_TEMPLATE]) {
    const text = files[file];
    if (text === undefined) return { file, message: `${file} is missing: every environment is created from it; add it to the repo` };
    const bytes = utf8Length(text);
    if (bytes > limit) {
      return {
        file,
        message: `${file} is ${formatCount(bytes)} bytes; ${how} ${formatCount(limit)} bytes: make it smaller (comments count too) or move resources into nested stacks`,
      };
    }
  }
  return undefined;
}

/**
 * When a push changes stackPrefix or region, every environment already in the tree would be
 * created again under new names or in another region while its old stacks keep running: the
 * refusal for such an environment, naming the setting's line. Undefined when nothing moves.
 */
function settingsMoved(
  afterText: string | undefined,
  before: RepoSettings | undefined,
  after: RepoSettings | undefined,
): ((environment: string) => PlanError) | undefined {
  if (!before || !after) return undefined;
  const show = (value: string | undefined) => value ?? "the worker's AWS_REGION";
  const change =
    before.stackPrefix !== after.stackPrefix
      ? { key: 'stackPrefix', from: before.stackPrefix, to: after.stackPrefix, where: 'under new names while the old ones keep running' }
      : before.region !== after.region
        ? { key: 'region', from: show(before.region), to: show(after.region), where: `in ${show(after.region)} while those in ${show(before.region)} keep running` }
        : undefined;
  if (!change) return undefined;
  const line = keyLine(afterText, change.key) ?? (afterText === undefined ? undefined : 1);
  const at = `${REPO_SETTINGS_FILE}${line ? `:${line}` : ''}`;
  return (environment) => ({
    file: REPO_SETTINGS_FILE,
    line,
    message:
      `${at}: ${change.key} changed from ${change.from} to ${change.to}: ${environment}'s stacks and pipeline would be created again ${change.where}; ` +
      `to move environments, remove their folders (in this push or an earlier one), then add them back in a later push; or revert the change`,
  });
}

/** An environment's names under one tree's settings. */
interface NameOwner {
  environment: string;
  names: DerivedName[];
  /** In the tree before the push: its stacks may be running. */
  existing: boolean;
  /** From the before tree's settings (how the running stacks are named). */
  fromBefore: boolean;
}

/** Which environments may not have their sync or their delete, because their names are another's. */
interface Collisions {
  sync: Map<string, PlanError>;
  delete: Map<string, PlanError>;
}

/**
 * No two environments' derived names may meet (DESIGN §3). A sync is checked against every
 * environment of both trees (the after tree's names, and the before tree's running ones); a
 * delete against the before tree. Of two environments that meet, the one new in this push is
 * refused; when both are new, or both existed, both are.
 */
function nameCollisions(input: {
  afterEnvs: Set<string>;
  beforeEnvs: Set<string>;
  afterSettings?: RepoSettings;
  beforeSettings?: RepoSettings;
  /** No before tree (first or force push): nothing is known to exist. */
  firstTree: boolean;
}): Collisions {
  const { afterEnvs, beforeEnvs, afterSettings, beforeSettings } = input;
  const owners = (envs: Set<string>, settings: RepoSettings | undefined, fromBefore: boolean): NameOwner[] =>
    settings
      ? [...envs]
          .filter((environment) => ENVIRONMENT_NAME_PATTERN.test(environment))
          .sort()
          .map((environment) => ({ environment, names: derivedNames(settings, environment), existing: !input.firstTree && beforeEnvs.has(environment), fromBefore }))
      : [];
  const afterOwners = owners(afterEnvs, afterSettings, false);
  const beforeOwners = owners(beforeEnvs, beforeSettings, true);
  const index = (list: NameOwner[]) => {
    const byName = new Map<string, { owner: NameOwner; name: DerivedName }[]>();
    for (const owner of list) for (const name of owner.names) byName.set(name.name, [...(byName.get(name.name) ?? []), { owner, name }]);
    return byName;
  };
  const everyName = index([...afterOwners, ...beforeOwners]);
  const runningNames = index(beforeOwners);

  /** The first other environment sharing a name with `owner` that makes it give way. */
  const clash = (owner: NameOwner, byName: Map<string, { owner: NameOwner; name: DerivedName }[]>) => {
    for (const mine of owner.names) {
      for (const theirs of byName.get(mine.name) ?? []) {
        if (theirs.owner.environment === owner.environment) continue;
        // An environment that exists keeps its names against a newcomer.
        if (owner.existing && !theirs.owner.existing) continue;
        return { mine, theirs };
      }
    }
    return undefined;
  };
  const whose = (theirs: { owner: NameOwner; name: DerivedName }, forDelete: boolean) => {
    const { environment, fromBefore } = theirs.owner;
    const note = !fromBefore ? '' : !afterEnvs.has(environment) ? ' (removed in this push)' : forDelete ? '' : ' (as the tree before this push names it)';
    return `the ${theirs.name.kind} of ${environment}${note}`;
  };

  const collisions: Collisions = { sync: new Map(), delete: new Map() };
  for (const owner of afterOwners) {
    // The bootstrap stack holds the artifact bucket; a pipeline deploying over it would take it.
    const bootstrapName = owner.names.find((n) => n.name === BOOTSTRAP_STACK_NAME);
    if (bootstrapName) {
      collisions.sync.set(owner.environment, {
        file: `${owner.environment}/${CONFIG_FILE}`,
        message: `${owner.environment}/: its ${bootstrapName.kind} ${bootstrapName.name} is the stack of \`cfn-gitops bootstrap\`, which holds the artifact bucket: rename the folder ${owner.environment}/ or set another stackPrefix in common/gitops.yaml`,
      });
      continue;
    }
    const found = clash(owner, everyName);
    if (!found) continue;
    const { mine, theirs } = found;
    const fix = owner.existing
      ? `rename or remove ${owner.environment}/ or ${theirs.owner.environment}/, then check both environments' stacks`
      : `rename the folder ${owner.environment}/`;
    collisions.sync.set(owner.environment, {
      file: `${owner.environment}/${CONFIG_FILE}`,
      message: `${owner.environment}/: its ${mine.kind} ${mine.name} is ${whose(theirs, false)}; an environment owns its stack and pipeline names, so no two may share one: ${fix}`,
    });
  }
  for (const owner of beforeOwners) {
    if (afterEnvs.has(owner.environment)) continue;
    const found = clash(owner, runningNames);
    if (!found) continue;
    const { mine, theirs } = found;
    const sharedWithOthers = (name: string) => (runningNames.get(name) ?? []).some((o) => o.owner.environment !== owner.environment);
    const own = [...new Set(owner.names.map((n) => n.name).filter((name) => !sharedWithOthers(name)))];
    collisions.delete.set(owner.environment, {
      file: `${owner.environment}/${CONFIG_FILE}`,
      message:
        `${owner.environment}/: not deleted: its ${mine.kind} ${mine.name} is ${whose(theirs, true)}, so deleting ${owner.environment} would delete ${theirs.owner.environment}'s; ` +
        `delete ${owner.environment}'s own stacks and pipeline (${own.join(', ') || 'none'}) by hand, if cfn-gitops created them`,
    });
  }
  return collisions;
}

/**
 * Works out what a push means for each environment (DESIGN §2). Pure: no I/O, no clock.
 * An invalid config fails that environment alone; the others are planned as usual.
 * @example plan({ after, before, changes: [{ path: 'prod/config.yaml' }] }).environments[0].action // 'sync'
 */
export function plan(input: PlanInput): Plan {
  const { after, before, changes } = input;
  const notes = [...(input.notes ?? [])];
  const afterEnvs = environmentsIn(after.files);
  const beforeEnvs = before ? environmentsIn(before.files) : new Set<string>();
  const planFromTree = !changes || !before;
  // Without a before tree or a note from the shell (e.g. a force push), this is the first push.
  const firstPush = !before && notes.length === 0;
  if (firstPush) notes.push('first push: every environment in the tree is synced');
  else if (planFromTree && notes.length === 0) notes.push('no diff: every environment in the after tree is synced');

  const touched = new Set<string>();
  let commonChanged = false;
  for (const change of changes ?? []) {
    for (const path of [change.path, change.from]) {
      if (!path) continue;
      const folder = topFolder(path);
      if (folder === COMMON_DIR) commonChanged = true;
      else if (folder) touched.add(folder);
    }
  }
  if (commonChanged) notes.push('common/ changed: every environment is synced');

  // A removed folder whose config reappears unchanged under a new name is a rename.
  const renamedTo = new Map<string, string>();
  const renamedFrom = new Map<string, string>();
  if (before && !planFromTree) {
    // Sorted, so that which of two identical configs counts as the rename does not depend on file order.
    for (const gone of [...beforeEnvs].sort()) {
      if (afterEnvs.has(gone)) continue;
      const config = before.files[`${gone}/${CONFIG_FILE}`];
      for (const added of [...afterEnvs].sort()) {
        if (beforeEnvs.has(added) || renamedFrom.has(added)) continue;
        if (after.files[`${added}/${CONFIG_FILE}`] === config) {
          renamedTo.set(gone, added);
          renamedFrom.set(added, gone);
          break;
        }
      }
    }
  }

  const afterSettings = readSettings(after.files);
  const beforeSettings = before ? readSettings(before.files) : {};
  const templateError = templateProblem(after.files);
  const moved = settingsMoved(after.files[REPO_SETTINGS_FILE], beforeSettings.settings, afterSettings.settings);
  const collisions = nameCollisions({ afterEnvs, beforeEnvs, afterSettings: afterSettings.settings, beforeSettings: beforeSettings.settings, firstTree: !before });
  const environments: PlannedEnvironment[] = [];

  for (const environment of [...afterEnvs].sort()) {
    let reason: string | undefined;
    if (planFromTree) reason = firstPush ? 'first push' : 'planned from the after tree';
    else if (!beforeEnvs.has(environment)) reason = renamedFrom.has(environment) ? `renamed from ${renamedFrom.get(environment)}` : 'added';
    else if (touched.has(environment)) {
      const file = `${environment}/${CONFIG_FILE}`;
      reason = before!.files[file] !== after.files[file] ? 'config changed' : 'files changed';
    } else if (commonChanged) reason = 'common/ changed';
    if (!reason) continue;
    // An environment already in the tree would be created again under the new names; a new one is fine.
    const refusal = (beforeEnvs.has(environment) ? moved?.(environment) : undefined) ?? collisions.sync.get(environment);
    environments.push(planSync(environment, reason, after, { settings: afterSettings, templateError, refusal }));
  }

  if (before && !planFromTree) {
    for (const environment of [...beforeEnvs].sort()) {
      if (afterEnvs.has(environment)) continue;
      const reason = renamedTo.has(environment) ? `renamed to ${renamedTo.get(environment)}` : 'removed';
      environments.push(planDelete(environment, reason, before, after.commit, beforeSettings, collisions.delete.get(environment)));
    }
  }

  environments.sort((a, b) => a.environment.localeCompare(b.environment) || a.action.localeCompare(b.action));
  const waves = afterSettings.settings?.waves;
  const rollout = waves ? { waves: assignWaves([...new Set(environments.map((e) => e.environment))], waves), bakeMs: bakeMs(afterSettings.settings!) } : undefined;
  return { before: before?.commit.sha, after: after.commit.sha, notes, environments, ...(rollout ? { rollout } : {}) };
}

function nameError(environment: string): PlanError | undefined {
  if (ENVIRONMENT_NAME_PATTERN.test(environment)) return undefined;
  return {
    file: `${environment}/${CONFIG_FILE}`,
    message: `${quoteName(`${environment}/`)}: environment folder names become stack names: use letters, digits and hyphens, starting with a letter (at most 64); rename the folder`,
  };
}

/** What stops syncs besides the environment's own config. */
interface SyncContext {
  settings: { settings?: RepoSettings; error?: PlanError };
  /** A missing or oversized template: every sync stops. */
  templateError?: PlanError;
  /** The settings move this environment, or its names are another's. */
  refusal?: PlanError;
}

function planSync(environment: string, reason: string, after: Snapshot, context: SyncContext): PlannedEnvironment {
  const { settings } = context;
  const base = { environment, action: Action.Sync, reason } as const;
  const file = `${environment}/${CONFIG_FILE}`;
  const invalidName = nameError(environment);
  if (invalidName) return { ...base, error: invalidName };
  if (settings.error) return { ...base, error: settings.error };
  if (context.templateError) return { ...base, error: context.templateError };
  if (context.refusal) return { ...base, error: context.refusal };
  const pipeline = pipelineName(settings.settings!, environment);
  if (pipeline.length > PIPELINE_NAME_MAX_LENGTH) {
    return {
      ...base,
      error: {
        file,
        message: `${environment}/: its pipeline name ${pipeline} has ${pipeline.length} characters; CodePipeline allows at most ${PIPELINE_NAME_MAX_LENGTH}: shorten the folder name or stackPrefix in ${REPO_SETTINGS_FILE}`,
      },
    };
  }
  try {
    const config = parseEnvironmentConfig(after.files[file]!, file, environment);
    const repoSettings = settings.settings!;
    return {
      ...base,
      desired: {
        environment,
        action: Action.Sync,
        commit: after.commit,
        reason,
        settings: repoSettings,
        config,
        templates: { pipeline: after.files[PIPELINE_TEMPLATE]!, environment: after.files[ENVIRONMENT_TEMPLATE]! },
        // More than one approval asked for is protection asked for.
        repoProtected: matchesAny(environment, repoSettings.protectedEnvironments) || config.protected === true || (config.requiredApprovals ?? 1) > 1,
      },
    };
  } catch (error) {
    return { ...base, error: toPlanError(error, file) };
  }
}

function planDelete(
  environment: string,
  reason: string,
  before: Snapshot,
  afterCommit: CommitInfo,
  settings: { settings?: RepoSettings; error?: PlanError },
  collision: PlanError | undefined,
): PlannedEnvironment {
  const base = { environment, action: Action.Delete, reason } as const;
  const invalidName = nameError(environment);
  if (invalidName) return { ...base, error: invalidName };
  // The stacks were named by the settings they were created with: the tree before the push.
  if (settings.error) return { ...base, error: settings.error };
  if (collision) return { ...base, error: collision };
  const repoSettings = settings.settings!;
  let configProtected = false;
  try {
    configProtected = parseEnvironmentConfig(before.files[`${environment}/${CONFIG_FILE}`]!, `${environment}/${CONFIG_FILE}`, environment).protected === true;
  } catch {
    // An invalid old config does not stop the delete; protection then comes from the settings alone.
  }
  return {
    ...base,
    desired: {
      environment,
      action: Action.Delete,
      commit: afterCommit,
      reason,
      settings: repoSettings,
      repoProtected: matchesAny(environment, repoSettings.protectedEnvironments) || configProtected,
    },
  };
}
