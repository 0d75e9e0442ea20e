import { renderPlan, renderStartReport } from '../common/render';
import type { TemporalSettings } from '../common/temporal-settings';
import { connectClient, workflowUrl } from './client';
import { createGitReader, readPush } from './git';
import { readGithubPush, reportToGithub } from './github';
import { plan as makePlan } from '../common/plan';
import { startPush, type StartReport } from './start';

/** Exit codes of every command: 0 all well, 1 something failed, 2 bad usage or invalid input. */
export const ExitCode = { Ok: 0, Failed: 1, Invalid: 2 } as const;

/** Flags of `start` and `plan`. */
export interface PushFlags {
  repo?: string;
  before?: string;
  after?: string;
  wait?: boolean;
  json?: boolean;
  /** Who pushed, when not in Actions (there the event's pusher or GITHUB_ACTOR). */
  pushedBy?: string;
}

/** Where output goes; tests capture it. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

function resolvePush(flags: PushFlags, env: NodeJS.ProcessEnv) {
  const github = readGithubPush(env);
  return {
    repo: flags.repo ?? github.repo ?? process.cwd(),
    before: flags.before ?? (flags.after ? undefined : github.before),
    after: flags.after ?? github.after ?? 'HEAD',
    pushedBy: flags.pushedBy ?? github.pushedBy,
  };
}

/** The exit code a report deserves: a failed deployment beats invalid input. */
export function exitCodeFor(report: StartReport): number {
  const statuses = report.environments.map((e) => e.status);
  if (statuses.some((s) => s === 'error' || s === 'Failed' || s === 'Cancelled' || s === 'Rejected' || s === 'Expired' || s === 'Halted')) return ExitCode.Failed;
  if (statuses.includes('invalid')) return ExitCode.Invalid;
  return ExitCode.Ok;
}

/**
 * `cfn-gitops plan`: reads the push and prints the plan; starts nothing.
 * @example await planCommand({ repo: '.', before: 'HEAD~1', after: 'HEAD' }, output)
 */
export async function planCommand(flags: PushFlags, output: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const push = resolvePush(flags, env);
  const plan = makePlan(await readPush(createGitReader(push.repo), push));
  output.out(flags.json ? JSON.stringify(plan, (key, value) => (key === 'templates' ? undefined : value), 2) : renderPlan(plan));
  return plan.environments.some((e) => e.error) ? ExitCode.Invalid : ExitCode.Ok;
}

/**
 * `cfn-gitops start`: plans the push and submits one desired state per environment.
 * @example await startCommand({ repo: '.', before, after, wait: true }, settings, output)
 */
export async function startCommand(flags: PushFlags, settings: TemporalSettings, output: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const push = resolvePush(flags, env);
  const temporal = await connectClient(settings);
  try {
    const { plan, report } = await startPush({
      client: temporal.client,
      git: createGitReader(push.repo),
      taskQueue: settings.taskQueue,
      push,
      pushedBy: push.pushedBy,
      wait: flags.wait,
      onProgress: flags.json ? undefined : (environment, phase, detail) => output.err(`${environment}: ${phase}${detail ? ` (${detail})` : ''}`),
    });
    const link = (workflowId: string) => workflowUrl(settings, workflowId);
    if (flags.json) output.out(JSON.stringify({ ...report, environments: report.environments.map((e) => ({ ...e, url: link(e.workflowId) })) }, null, 2));
    else output.out([...plan.notes.map((n) => `note: ${n}`), renderStartReport(report.environments, link)].join('\n'));
    await reportToGithub(report.environments, link, env);
    return exitCodeFor(report);
  } finally {
    await temporal.close();
  }
}
