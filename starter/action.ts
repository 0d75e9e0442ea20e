/**
 * The GitHub Action's entry: action.yml runs its bundle, dist-action/index.js (`npm run build`
 * writes it), on the runner's Node with no `npm install`. It is `cfn-gitops start` with the
 * step's inputs in place of flags and environment variables.
 */
import path from 'node:path';
import * as core from '@actions/core';
import { readTemporalSettings } from '../common/temporal-settings';
import { ExitCode, startCommand, type Output } from './start-command';

/** Input name → the environment variable it sets for the run; an empty input leaves the variable as the job set it. */
const SETTING_INPUTS = {
  'temporal-address': 'TEMPORAL_ADDRESS',
  'temporal-namespace': 'TEMPORAL_NAMESPACE',
  'temporal-api-key': 'TEMPORAL_API_KEY',
  'task-queue': 'CFN_GITOPS_TASK_QUEUE',
  'temporal-ui-url': 'TEMPORAL_UI_URL',
} as const;

/** Why the step failed, by the exit code `cfn-gitops start` would have given. */
const FAILURES: Record<number, string> = {
  [ExitCode.Failed]: 'a deployment failed or could not be submitted; the step summary and the annotations name the environment',
  [ExitCode.Invalid]: "an environment's config is invalid; the annotation names its file and line, and the other environments went ahead",
};

/**
 * Plans the push of the running job and starts or signals one workflow per changed
 * environment; fails the step as `cfn-gitops start` would exit non-zero.
 * @example node dist-action/index.js  // with INPUT_TEMPORAL-ADDRESS, GITHUB_EVENT_PATH, … set by the runner
 */
export async function runAction(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const apiKey = core.getInput('temporal-api-key');
  if (apiKey) core.setSecret(apiKey);
  const settingsEnv: NodeJS.ProcessEnv = { ...env };
  for (const [input, variable] of Object.entries(SETTING_INPUTS)) {
    const value = core.getInput(input);
    if (value) settingsEnv[variable] = value;
  }
  // `wait` defaults to true in action.yml; a run without the input (no action.yml) waits too.
  const wait = core.getInput('wait') === '' ? true : core.getBooleanInput('wait');
  const repo = path.resolve(env.GITHUB_WORKSPACE ?? process.cwd(), core.getInput('repo') || '.');
  const output: Output = { out: (text) => core.info(text), err: (text) => core.info(text) };
  const code = await startCommand({ repo, wait }, readTemporalSettings(settingsEnv), output, env);
  if (code !== ExitCode.Ok) core.setFailed(`cfn-gitops: ${FAILURES[code] ?? `start ended with exit code ${code}`}`);
}

runAction().catch((error: unknown) => core.setFailed(`cfn-gitops: ${error instanceof Error ? error.message : String(error)}`));
