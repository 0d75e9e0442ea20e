import { readFileSync } from 'node:fs';
import { renderStepSummary, type RenderedEntry } from '../common/render';

/** The push a GitHub Actions run is about, from GITHUB_WORKSPACE and the event at GITHUB_EVENT_PATH. */
export interface GithubPush {
  repo?: string;
  before?: string;
  after?: string;
  /** Who pushed: the event's `pusher.name` or `sender.login`, else `GITHUB_ACTOR`. */
  pushedBy?: string;
}

/**
 * Reads the push event of the running GitHub Actions job; empty outside Actions.
 * @throws Error naming GITHUB_EVENT_PATH when the event file cannot be read.
 */
export function readGithubPush(env: NodeJS.ProcessEnv = process.env): GithubPush {
  const push: GithubPush = { repo: env.GITHUB_WORKSPACE };
  if (env.GITHUB_EVENT_PATH) {
    let event: { before?: string; after?: string; pusher?: { name?: string }; sender?: { login?: string } };
    try {
      event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'));
    } catch (error) {
      throw new Error(`cannot read the push event at GITHUB_EVENT_PATH=${env.GITHUB_EVENT_PATH}: ${(error as Error).message}`);
    }
    push.before = event.before;
    push.after = event.after ?? env.GITHUB_SHA;
    push.pushedBy = event.pusher?.name ?? event.sender?.login;
  } else if (env.GITHUB_SHA) {
    push.after = env.GITHUB_SHA;
  }
  push.pushedBy ??= env.GITHUB_ACTOR || undefined;
  return push;
}

/** Statuses that fail an environment in the `failed` output and earn an error annotation. */
const FAILED_STATUSES = ['invalid', 'error', 'Failed'];

/**
 * The step outputs `environments`, `failed` and `result`, each a JSON string.
 * @example githubOutputs(entries).failed // '["prod"]'
 */
export function githubOutputs(entries: RenderedEntry[]): { environments: string; failed: string; result: string } {
  return {
    environments: JSON.stringify(entries.map((e) => e.environment)),
    failed: JSON.stringify(entries.filter((e) => FAILED_STATUSES.includes(e.status)).map((e) => e.environment)),
    result: JSON.stringify(entries.map((e) => ({ environment: e.environment, action: e.action, status: e.status, workflowId: e.workflowId }))),
  };
}

/**
 * In GitHub Actions: the step summary table, the step outputs and an error annotation per
 * failed environment (on its config file and line when the config is invalid), all through
 * @actions/core, which writes GITHUB_STEP_SUMMARY and GITHUB_OUTPUT and escapes the commands.
 * Outside Actions (no GITHUB_ACTIONS, GITHUB_STEP_SUMMARY or GITHUB_OUTPUT in `env`) it does nothing.
 * @throws Error from @actions/core when GITHUB_STEP_SUMMARY names a file that cannot be written.
 */
export async function reportToGithub(entries: RenderedEntry[], link: (workflowId: string) => string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!env.GITHUB_ACTIONS && !env.GITHUB_STEP_SUMMARY && !env.GITHUB_OUTPUT) return;
  // Loaded only here: the CLI outside Actions never pays for it.
  const core = await import('@actions/core');
  if (env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(renderStepSummary('cfn-gitops deployments', entries, link)).write();
  // Without GITHUB_OUTPUT, setOutput would print the retired `::set-output` command.
  if (env.GITHUB_OUTPUT) for (const [name, value] of Object.entries(githubOutputs(entries))) core.setOutput(name, value);
  for (const e of entries.filter((entry) => FAILED_STATUSES.includes(entry.status))) {
    core.error(e.error ?? e.message ?? e.status, { title: `cfn-gitops ${e.environment}`, file: e.file, startLine: e.line });
  }
}
