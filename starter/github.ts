import { appendFileSync, readFileSync } from 'node:fs';
import { renderAnnotations, renderStepSummary, type RenderedEntry } from '../common/render';

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

/**
 * In GitHub Actions: the step summary table, step outputs and `::error` annotations.
 * Outside Actions (no GITHUB_STEP_SUMMARY / GITHUB_OUTPUT) it only prints annotations when asked.
 */
export function reportToGithub(entries: RenderedEntry[], link: (workflowId: string) => string, env: NodeJS.ProcessEnv = process.env, print: (line: string) => void = console.log): void {
  if (!env.GITHUB_ACTIONS && !env.GITHUB_STEP_SUMMARY && !env.GITHUB_OUTPUT) return;
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, renderStepSummary('cfn-gitops deployments', entries, link));
  if (env.GITHUB_OUTPUT) {
    const failed = entries.filter((e) => ['invalid', 'error', 'Failed'].includes(e.status)).map((e) => e.environment);
    const outputs = {
      environments: JSON.stringify(entries.map((e) => e.environment)),
      failed: JSON.stringify(failed),
      result: JSON.stringify(entries.map((e) => ({ environment: e.environment, action: e.action, status: e.status, workflowId: e.workflowId }))),
    };
    appendFileSync(env.GITHUB_OUTPUT, Object.entries(outputs).map(([k, v]) => `${k}=${v}\n`).join(''));
  }
  const annotations = renderAnnotations(entries);
  if (annotations) print(annotations);
}
