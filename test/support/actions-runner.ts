import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { CliResult } from './cli';

/**
 * What the GitHub Actions runner does for a `uses:` step of a JavaScript action, done here so
 * that tests run an action exactly that way: read the action's action.yml, evaluate the step's
 * `with:`, fill in the inputs' defaults, set INPUT_* and the GITHUB_* variables, create the
 * output and summary files empty, and run `node <action>/<runs.main>` in the workspace.
 */

/** The first push's `before`. */
const ZEROS = '0'.repeat(40);

/** What a finished action step left: its log, exit code, outputs and step summary. */
export interface ActionRun extends CliResult {
  outputs: Record<string, string>;
  summary: string;
}

/** One `uses:` step of a job triggered by a push. */
export interface ActionStep {
  /** The folder holding action.yml, as the runner unpacks `OWNER/REPO@REF`. */
  actionDir: string;
  /** The step's `with:`, its expressions already evaluated. */
  with: Record<string, string>;
  /** The checkout: GITHUB_WORKSPACE and the step's working directory. */
  workspace: string;
  /** The push event, written to the file GITHUB_EVENT_PATH names. */
  event: PushEvent;
  /** Where the runner keeps the step's files (event, outputs, summary). */
  tempDir: string;
  /** Kills the step after this long, as a job's `timeout-minutes` would; default 180 s. */
  timeoutMs?: number;
}

/** The members of GitHub's `push` webhook payload that a push to main carries. */
export interface PushEvent {
  ref: string;
  before: string;
  after: string;
  created: boolean;
  deleted: boolean;
  forced: boolean;
  base_ref: null;
  compare: string;
  commits: unknown[];
  head_commit: unknown;
  repository: { name: string; full_name: string; default_branch: string; owner: { login: string } };
  pusher: { name: string; email: string };
  sender: { login: string; type: string };
}

/** A push of `after` onto main of acme/infra by `pusher`, as GitHub delivers it. */
export function pushEvent(options: { before: string; after: string; message?: string; pusher?: string }): PushEvent {
  const pusher = options.pusher ?? 'pat-pusher';
  const commit = {
    id: options.after,
    message: options.message ?? 'a change',
    timestamp: new Date().toISOString(),
    url: `https://github.com/acme/infra/commit/${options.after}`,
    author: { name: 'Dana Developer', email: 'dana@example.com' },
    committer: { name: 'Dana Developer', email: 'dana@example.com' },
  };
  return {
    ref: 'refs/heads/main',
    before: options.before,
    after: options.after,
    created: options.before === ZEROS,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `https://github.com/acme/infra/compare/${options.before.slice(0, 12)}...${options.after.slice(0, 12)}`,
    commits: [commit],
    head_commit: commit,
    repository: { name: 'infra', full_name: 'acme/infra', default_branch: 'main', owner: { login: 'acme' } },
    pusher: { name: pusher, email: `${pusher}@example.com` },
    sender: { login: pusher, type: 'User' },
  };
}

/** Reads a GITHUB_OUTPUT file as the runner does: `name=value` lines and `name<<DELIMITER` blocks. */
export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]!);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      outputs[heredoc[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (lines[i]!.includes('=')) {
      const at = lines[i]!.indexOf('=');
      outputs[lines[i]!.slice(0, at)] = lines[i]!.slice(at + 1);
    }
  }
  return outputs;
}

/** What an expression `${{ context.NAME }}` may read; a name missing from a context is '', as on GitHub. */
export type ExpressionContexts = { secrets?: Record<string, string>; vars?: Record<string, string>; github?: Record<string, string> };

/**
 * Evaluates the expressions of a `with:` value: `${{ secrets.X }}`, `${{ vars.X }}` and
 * `${{ github.x }}`, nothing else (a test that meets another one should say what it means).
 * @throws Error naming the expression it cannot evaluate.
 */
export function evaluate(value: string, contexts: ExpressionContexts): string {
  return value.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (expression, body: string) => {
    const match = /^(secrets|vars|github)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(body);
    if (!match) throw new Error(`cannot evaluate ${expression}`);
    return contexts[match[1] as keyof ExpressionContexts]?.[match[2]!] ?? '';
  });
}

/**
 * The `with:` of the step of a workflow file that `uses:` the given action, evaluated.
 * @throws Error when no step uses it.
 */
export function stepInputs(workflowFile: string, uses: string, contexts: ExpressionContexts): Record<string, string> {
  const workflow = parse(readFileSync(workflowFile, 'utf8')) as { jobs: Record<string, { steps: { uses?: string; with?: Record<string, unknown> }[] }> };
  const step = Object.values(workflow.jobs)
    .flatMap((job) => job.steps)
    .find((s) => s.uses === uses);
  if (!step) throw new Error(`${workflowFile}: no step uses ${uses}`);
  return Object.fromEntries(Object.entries(step.with ?? {}).map(([name, value]) => [name, evaluate(String(value), contexts)]));
}

/**
 * Runs a `node20`/`node24` action as the runner runs it, on this process's Node. Nothing of
 * Temporal's, AWS's, cfn-gitops's or GitHub's from the test's own environment reaches it: the
 * step's inputs alone say where things are.
 * @throws Error when action.yml is not a JavaScript action or names an input the step does not know.
 */
export async function runActionStep(step: ActionStep): Promise<ActionRun> {
  const action = parse(readFileSync(path.join(step.actionDir, 'action.yml'), 'utf8')) as {
    inputs?: Record<string, { default?: string }>;
    runs: { using: string; main: string };
  };
  if (!/^node\d+$/.test(action.runs.using)) throw new Error(`action.yml runs ${action.runs.using}, not a JavaScript action`);
  const declared = action.inputs ?? {};
  // The runner warns about an unexpected input; here it is a broken example.
  const unknown = Object.keys(step.with).filter((name) => !(name in declared));
  if (unknown.length) throw new Error(`the step passes inputs action.yml does not declare: ${unknown.join(', ')}`);
  const github = { workspace: step.workspace, sha: step.event.after, ref: step.event.ref, actor: step.event.sender.login };
  const inputs: Record<string, string> = {};
  for (const [name, input] of Object.entries(declared)) {
    const value = step.with[name] ?? (input.default === undefined ? undefined : evaluate(input.default, { github }));
    if (value !== undefined) inputs[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }

  const files = mkdtempSync(path.join(step.tempDir, 'step-'));
  const paths = { event: path.join(files, 'event.json'), output: path.join(files, 'output'), summary: path.join(files, 'summary.md') };
  writeFileSync(paths.event, JSON.stringify(step.event));
  writeFileSync(paths.output, '');
  writeFileSync(paths.summary, '');
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(TEMPORAL_|CFN_GITOPS_|AWS_|GITHUB_|INPUT_|RUNNER_)/.test(key)));
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_EVENT_PATH: paths.event,
    GITHUB_OUTPUT: paths.output,
    GITHUB_STEP_SUMMARY: paths.summary,
    GITHUB_WORKSPACE: step.workspace,
    GITHUB_SHA: step.event.after,
    GITHUB_REF: step.event.ref,
    GITHUB_REF_NAME: step.event.ref.replace(/^refs\/heads\//, ''),
    GITHUB_REPOSITORY: step.event.repository.full_name,
    GITHUB_ACTOR: step.event.sender.login,
    RUNNER_TEMP: files,
    ...inputs,
  };
  const result = await new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(step.actionDir, action.runs.main)], { cwd: step.workspace, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timeoutMs = step.timeoutMs ?? 180_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the action did not end within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
  return { ...result, outputs: parseOutputs(readFileSync(paths.output, 'utf8')), summary: readFileSync(paths.summary, 'utf8') };
}
