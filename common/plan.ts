import { parseEnvironmentConfig, parseRepoSettings } from './config';
import { ConfigError } from './errors';
import {
  COMMON_DIR,
  CONFIG_FILE,
  ENVIRONMENT_NAME_PATTERN,
  ENVIRONMENT_TEMPLATE,
  PIPELINE_TEMPLATE,
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
  const templateError = [PIPELINE_TEMPLATE, ENVIRONMENT_TEMPLATE].find((file) => after.files[file] === undefined);
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
    environments.push(planSync(environment, reason, after, afterSettings, templateError));
  }

  if (before && !planFromTree) {
    const beforeSettings = readSettings(before.files);
    for (const environment of [...beforeEnvs].sort()) {
      if (afterEnvs.has(environment)) continue;
      const reason = renamedTo.has(environment) ? `renamed to ${renamedTo.get(environment)}` : 'removed';
      environments.push(planDelete(environment, reason, before, after.commit, beforeSettings));
    }
  }

  environments.sort((a, b) => a.environment.localeCompare(b.environment) || a.action.localeCompare(b.action));
  return { before: before?.commit.sha, after: after.commit.sha, notes, environments };
}

function nameError(environment: string): PlanError | undefined {
  if (ENVIRONMENT_NAME_PATTERN.test(environment)) return undefined;
  return {
    file: `${environment}/${CONFIG_FILE}`,
    message: `${quoteName(`${environment}/`)}: environment folder names become stack names: use letters, digits and hyphens, starting with a letter (at most 64); rename the folder`,
  };
}

function planSync(
  environment: string,
  reason: string,
  after: Snapshot,
  settings: { settings?: RepoSettings; error?: PlanError },
  missingTemplate: string | undefined,
): PlannedEnvironment {
  const base = { environment, action: Action.Sync, reason } as const;
  const file = `${environment}/${CONFIG_FILE}`;
  const invalidName = nameError(environment);
  if (invalidName) return { ...base, error: invalidName };
  if (settings.error) return { ...base, error: settings.error };
  if (missingTemplate) {
    return { ...base, error: { file: missingTemplate, message: `${missingTemplate} is missing: every environment is created from it; add it to the repo` } };
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
        repoProtected: repoSettings.protectedEnvironments.includes(environment) || config.protected === true,
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
): PlannedEnvironment {
  const base = { environment, action: Action.Delete, reason } as const;
  const invalidName = nameError(environment);
  if (invalidName) return { ...base, error: invalidName };
  // The stacks were named by the settings they were created with: the tree before the push.
  if (settings.error) return { ...base, error: settings.error };
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
      repoProtected: repoSettings.protectedEnvironments.includes(environment) || configProtected,
    },
  };
}
