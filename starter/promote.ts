import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { simpleGit } from 'simple-git';
import { parseDocument } from 'yaml';
import { parseEnvironmentConfig } from '../common/config';
import { UsageError } from '../common/errors';
import { stateQuery } from '../common/messages';
import { CONFIG_FILE, environmentNameProblem, environmentWorkflowId, shortSha } from '../common/names';
import type { EnvironmentConfig, EnvironmentState } from '../common/types';

/** Thrown by promote and rollback when history or git refuses the change; the CLI exits 1. */
export class PromotionRefusedError extends Error {
  override readonly name = 'PromotionRefusedError';
  constructor(readonly environment: string, readonly reason: string) {
    super(`${environment}: ${reason}`);
  }
}

/** What a promote or rollback committed. */
export interface ConfigCommit {
  environment: string;
  from?: string;
  appVersion: string;
  previousVersion: string;
  commit: string;
  message: string;
  pushed: boolean;
}

/**
 * The config file promote and rollback read and write, refused unless it is a real file in the
 * environment's own folder: the name is checked against the rule, and links are followed, so
 * neither `../x` nor a folder or file that links elsewhere can make a commit write outside.
 * @throws UsageError naming the environment, where the path leads and the fix.
 */
function configPath(repoDir: string, environment: string): string {
  const problem = environmentNameProblem(environment);
  if (problem) throw new UsageError(problem);
  let root: string;
  try {
    root = realpathSync(repoDir);
  } catch {
    throw new UsageError(`${repoDir} not found: pass the GitOps repository checkout with --repo DIR`);
  }
  const file = path.join(root, environment, CONFIG_FILE);
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return file; // Missing: readConfig says so.
  }
  if (real !== file) {
    const where = real.startsWith(`${root}${path.sep}`) ? 'elsewhere in the repository' : `outside the repository ${root}`;
    throw new UsageError(`${environment}/${CONFIG_FILE} leads through a symbolic link to ${real}, ${where}: promote and rollback only write ${environment}'s own config file; replace the link with a real folder and file`);
  }
  return file;
}

function readConfig(repoDir: string, environment: string): { text: string; config: EnvironmentConfig } {
  const file = configPath(repoDir, environment);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`${environment}/${CONFIG_FILE} not found in ${repoDir}: is ${environment} an environment folder of this repo?`);
  }
  return { text, config: parseEnvironmentConfig(text, `${environment}/${CONFIG_FILE}`, environment) };
}

/** Sets appVersion (and artifact) in a config file's text, keeping its comments and other keys. */
function withVersion(text: string, appVersion: string, artifact: EnvironmentConfig['artifact'] | null): string {
  const doc = parseDocument(text);
  doc.set('appVersion', appVersion);
  if (artifact) doc.set('artifact', doc.createNode(artifact));
  return doc.toString();
}

async function stateOf(client: Client, environment: string): Promise<EnvironmentState | undefined> {
  try {
    return await client.workflow.getHandle(environmentWorkflowId(environment)).query(stateQuery);
  } catch {
    return undefined;
  }
}

async function commitConfig(repoDir: string, environment: string, text: string, message: string, push: boolean): Promise<{ commit: string; pushed: boolean }> {
  writeFileSync(configPath(repoDir, environment), text);
  const git = simpleGit(repoDir);
  await git.add([path.join(environment, CONFIG_FILE)]);
  await git.commit(message, [path.join(environment, CONFIG_FILE)]);
  const commit = (await git.revparse(['HEAD'])).trim();
  if (push) await git.push('origin', 'HEAD:main');
  return { commit, pushed: push };
}

/**
 * Copies FROM's app version (and artifact) into TO's config, keeping TO's parameters, and
 * commits it. Refuses when FROM's version has not deployed successfully, unless `force`.
 * @throws PromotionRefusedError, UsageError
 * @example await promote(client, { repoDir: '.', from: 'development', to: 'prod' })
 */
export async function promote(client: Client, options: { repoDir: string; from: string; to: string; force?: boolean; push?: boolean }): Promise<ConfigCommit> {
  const { repoDir, from, to } = options;
  if (from === to) throw new UsageError('promote needs two different environments');
  const source = readConfig(repoDir, from).config;
  const target = readConfig(repoDir, to);
  if (source.appVersion === target.config.appVersion) throw new PromotionRefusedError(to, `already at app ${source.appVersion}; nothing to promote`);
  if (!options.force) {
    const state = await stateOf(client, from);
    const deployed = state?.successfulVersions.find((v) => v.appVersion === source.appVersion);
    if (!deployed) {
      const last = state?.lastSuccessful ? `its last successful deployment was app ${state.lastSuccessful.appVersion ?? '-'} (${shortSha(state.lastSuccessful.commit)})` : 'it has no successful deployment';
      throw new PromotionRefusedError(from, `app ${source.appVersion} has not been deployed successfully in ${from} (${last}); deploy it there first or use --force`);
    }
  }
  const message = `promote ${from} → ${to}: app ${source.appVersion} (was ${target.config.appVersion})`;
  const text = withVersion(target.text, source.appVersion, source.artifact ?? null);
  const { commit, pushed } = await commitConfig(repoDir, to, text, message, Boolean(options.push));
  return { environment: to, from, appVersion: source.appVersion, previousVersion: target.config.appVersion, commit, message, pushed };
}

/**
 * Commits ENV's config back to its previous successfully deployed version (or `to`), so git
 * stays the truth; the normal flow then deploys it.
 * @throws PromotionRefusedError when there is no earlier successful version, UsageError
 * @example await rollback(client, { repoDir: '.', environment: 'prod' })
 */
export async function rollback(client: Client, options: { repoDir: string; environment: string; to?: string; push?: boolean }): Promise<ConfigCommit> {
  const { repoDir, environment } = options;
  const current = readConfig(repoDir, environment);
  let version = options.to;
  if (!version) {
    const state = await stateOf(client, environment);
    const earlier = state?.successfulVersions.find((v) => v.appVersion !== current.config.appVersion && v.appVersion !== state.deployedVersion);
    if (!earlier) throw new PromotionRefusedError(environment, 'no earlier successfully deployed version is known; name one with --to');
    version = earlier.appVersion;
  }
  if (version === current.config.appVersion) throw new PromotionRefusedError(environment, `git already says app ${version}`);
  const message = `rollback ${environment}: app ${version} (was ${current.config.appVersion})`;
  const { commit, pushed } = await commitConfig(repoDir, environment, withVersion(current.text, version, null), message, Boolean(options.push));
  return { environment, appVersion: version, previousVersion: current.config.appVersion, commit, message, pushed };
}
