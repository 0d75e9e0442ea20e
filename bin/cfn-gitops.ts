#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError, GitReadError, UsageError } from '../common/errors';
import { environmentNameProblem } from '../common/names';
import { readTemporalSettings } from '../common/temporal-settings';
import { ExitCode, planCommand, startCommand, type Output } from '../starter/start-command';

const output: Output = { out: (text) => console.log(text), err: (text) => console.error(text) };

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
  return n;
}

/**
 * Refuses any name that cannot be an environment before a command touches Temporal, git or a
 * file: a name becomes a folder path and a workflow id, so `../x` must never get that far.
 * @throws UsageError (exit 2) with the name, the rule and the fix.
 */
function checkEnvironments(...names: (string | undefined)[]): void {
  for (const name of names) {
    const problem = name === undefined ? undefined : environmentNameProblem(name);
    if (problem) throw new UsageError(problem);
  }
}

/** Runs a command's action and turns what it threw into an exit code with a readable message. */
function action<A extends unknown[]>(run: (...args: A) => Promise<number | void>) {
  return async (...args: A) => {
    try {
      process.exitCode = (await run(...args)) ?? ExitCode.Ok;
    } catch (error) {
      const invalid = error instanceof UsageError || error instanceof ConfigError || error instanceof GitReadError;
      console.error(`cfn-gitops: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = invalid ? ExitCode.Invalid : ExitCode.Failed;
    }
  };
}

const program = new Command('cfn-gitops')
  .description('A git repository as the single source of truth for AWS environments, on Temporal')
  .exitOverride()
  .configureOutput({ writeErr: (text) => process.stderr.write(text) });

const pushOptions = (command: Command) =>
  command
    .option('--repo <dir>', 'the GitOps repository (default: GITHUB_WORKSPACE or the current directory)')
    .option('--before <sha>', 'the commit before the push (default: the push event\'s before)')
    .option('--after <sha>', 'the pushed commit (default: the push event\'s after, else HEAD)')
    .option('--json', 'print one JSON document on stdout');

pushOptions(program.command('start').description('plan the push and start or signal one workflow per changed environment'))
  .option('--wait', 'wait for every deployment to end and stream its phases')
  .option('--pushed-by <person>', 'who pushed (in Actions: the push event\'s pusher, else GITHUB_ACTOR); they may not approve the change')
  .action(action((flags) => startCommand(flags, readTemporalSettings(), output)));

pushOptions(program.command('plan').description('print what a push would do; starts nothing')).action(action((flags) => planCommand(flags, output)));

/** Runs `work` with a connected Temporal client and closes it afterwards. */
async function withClient<T>(work: (client: import('@temporalio/client').Client) => Promise<T>): Promise<T> {
  const { connectClient } = await import('../starter/client');
  const temporal = await connectClient(readTemporalSettings());
  try {
    return await work(temporal.client);
  } finally {
    await temporal.close();
  }
}

/** approve / reject / cancel: prints the workflow's answer; a refusal exits 1 with its reason. */
function decisionCommand(name: 'approve' | 'reject' | 'cancel', description: string) {
  const command = program.command(`${name} <environment>`).description(description).option('--by <name>', 'who decides (default: $USER)').option('--comment <text>', 'recorded with the decision');
  if (name === 'approve') {
    command.option('--version <version>', 'the app version or commit you approve; refused if something else waits');
    command.option('--override-freeze', 'let the deployment go ahead through a freeze (a freeze window or `cfn-gitops freeze`)');
  }
  command.option('--json', 'print the answer as JSON');
  command.action(
    action(async (environment: string, flags: { by?: string; comment?: string; version?: string; overrideFreeze?: boolean; json?: boolean }) => {
      checkEnvironments(environment);
      const decide = await import('../starter/decide');
      const by = flags.by ?? process.env.USER ?? 'unknown';
      try {
        const result = await withClient((client) =>
          name === 'cancel'
            ? decide.cancel(client, environment, { by, reason: flags.comment })
            : decide[name](client, environment, { by, comment: flags.comment, version: flags.version, ...(flags.overrideFreeze ? { overrideFreeze: true } : {}) }),
        );
        console.log(flags.json ? JSON.stringify(result) : `${environment}: ${result.message}`);
        return ExitCode.Ok;
      } catch (error) {
        if (error instanceof decide.DecisionRefusedError) {
          console.log(flags.json ? JSON.stringify({ environment, accepted: false, message: error.reason }) : `${environment}: refused: ${error.reason}`);
          return ExitCode.Failed;
        }
        throw error;
      }
    }),
  );
}
decisionCommand('approve', 'approve the deployment waiting in an environment');
decisionCommand('reject', 'reject the deployment waiting in an environment; AWS stays untouched');
decisionCommand('cancel', 'cancel what runs or waits in an environment; a running pipeline execution is stopped');

/** freeze / unfreeze: the environments named, or with --all every running environment workflow; exits 1 when one refused. */
function freezeTargets(environments: string[], all: boolean | undefined): { environments: string[] } | { all: true } {
  if (all && environments.length) throw new UsageError('name environments or give --all, not both');
  if (!all && !environments.length) throw new UsageError('name the environments to freeze, or give --all');
  checkEnvironments(...environments);
  return all ? { all: true } : { environments };
}

function printAnswers(answers: import('../common/types').DecisionResult[], json: boolean | undefined): number {
  if (json) console.log(JSON.stringify(answers));
  else for (const a of answers) console.log(`${a.environment}: ${a.accepted ? '' : 'refused: '}${a.message}`);
  if (!json && answers.length === 0) console.log('no running environment workflows');
  return answers.every((a) => a.accepted) ? ExitCode.Ok : ExitCode.Failed;
}

program
  .command('freeze [environments...]')
  .description('emergency stop: what runs finishes, nothing new starts and pushes wait (phase Frozen, newest wins) until unfreeze')
  .option('--all', 'every running environment workflow')
  .requiredOption('--reason <text>', 'why; shown to whoever waits')
  .option('--until <time>', 'ISO-8601 time the freeze lifts by itself')
  .option('--by <name>', 'who freezes (default: $USER)')
  .option('--json', 'print the answers as JSON')
  .action(
    action(async (environments: string[], flags: { all?: boolean; reason: string; until?: string; by?: string; json?: boolean }) => {
      const targets = freezeTargets(environments, flags.all);
      if (flags.until !== undefined && Number.isNaN(Date.parse(flags.until))) throw new UsageError(`--until "${flags.until}" is not an ISO-8601 time, e.g. 2026-12-24T18:00:00Z`);
      const until = flags.until === undefined ? undefined : new Date(Date.parse(flags.until)).toISOString();
      const { freeze } = await import('../starter/freeze');
      const by = flags.by ?? process.env.USER ?? 'unknown';
      const answers = await withClient((client) => freeze(client, readTemporalSettings().taskQueue, targets, { reason: flags.reason, by, ...(until ? { until } : {}) }));
      return printAnswers(answers, flags.json);
    }),
  );

program
  .command('unfreeze [environments...]')
  .description('lift a freeze: the newest waiting push deploys (freeze windows of the settings stay)')
  .option('--all', 'every running environment workflow')
  .option('--by <name>', 'who unfreezes (default: $USER)')
  .option('--json', 'print the answers as JSON')
  .action(
    action(async (environments: string[], flags: { all?: boolean; by?: string; json?: boolean }) => {
      const targets = freezeTargets(environments, flags.all);
      const { unfreeze } = await import('../starter/freeze');
      const answers = await withClient((client) => unfreeze(client, targets, flags.by ?? process.env.USER ?? 'unknown'));
      return printAnswers(answers, flags.json);
    }),
  );

program
  .command('drift [environment]')
  .description('check every environment (or one) against git main and AWS now: version, resource drift, missing and orphaned stacks; exits 0 unless the sweep itself failed')
  .option('--json', 'print one JSON document')
  .action(
    action(async (environment: string | undefined, flags: { json?: boolean }) => {
      checkEnvironments(environment);
      const { driftCommand } = await import('../starter/drift');
      return driftCommand(environment, flags, readTemporalSettings(), output);
    }),
  );

program
  .command('pending')
  .description('list what waits for approval, and for whom')
  .option('--json', 'print one JSON document')
  .action(
    action(async (flags: { json?: boolean }) => {
      const { pendingApprovals } = await import('../starter/decide');
      const { renderPendingApprovals } = await import('../common/render');
      const pending = await withClient((client) => pendingApprovals(client));
      console.log(flags.json ? JSON.stringify(pending, null, 2) : renderPendingApprovals(pending));
    }),
  );

/** promote / rollback: commit a config change; the normal flow deploys it. */
function configCommitAction<A extends unknown[]>(run: (promote: typeof import('../starter/promote'), ...args: A) => Promise<import('../starter/promote').ConfigCommit>, json: (...args: A) => boolean | undefined) {
  return action(async (...args: A) => {
    const promote = await import('../starter/promote');
    try {
      const result = await run(promote, ...args);
      console.log(json(...args) ? JSON.stringify(result) : `${result.message}\ncommitted ${result.commit.slice(0, 7)}${result.pushed ? ' and pushed' : '; push it to deploy (or use --push)'}`);
      return ExitCode.Ok;
    } catch (error) {
      if (error instanceof promote.PromotionRefusedError) {
        console.error(`cfn-gitops: refused: ${error.message}`);
        return ExitCode.Failed;
      }
      throw error;
    }
  });
}

program
  .command('promote <from> <to>')
  .description("copy FROM's app version into TO's config (TO keeps its parameters) and commit")
  .option('--repo <dir>', 'the GitOps repository checkout', '.')
  .option('--push', 'push the commit to origin main')
  .option('--force', "promote even if FROM's version has not deployed successfully")
  .option('--json', 'print the result as JSON')
  .action(
    configCommitAction(
      (p, from: string, to: string, flags: { repo: string; push?: boolean; force?: boolean; json?: boolean }) => {
        checkEnvironments(from, to);
        return withClient((client) => p.promote(client, { repoDir: flags.repo, from, to, force: flags.force, push: flags.push }));
      },
      (_from, _to, flags) => flags.json,
    ),
  );

program
  .command('rollback <environment>')
  .description("commit ENV's config back to its previous successfully deployed version (or --to)")
  .option('--to <version>', 'the app version to go back to')
  .option('--repo <dir>', 'the GitOps repository checkout', '.')
  .option('--push', 'push the commit to origin main')
  .option('--json', 'print the result as JSON')
  .action(
    configCommitAction(
      (p, environment: string, flags: { repo: string; to?: string; push?: boolean; json?: boolean }) => {
        checkEnvironments(environment);
        return withClient((client) => p.rollback(client, { repoDir: flags.repo, environment, to: flags.to, push: flags.push }));
      },
      (_environment, flags) => flags.json,
    ),
  );

program
  .command('status [environment]')
  .description('desired (git main) against deployed (AWS) for every environment, or one with its recent deployments')
  .option('--repo <dir>', 'read desired versions from this GitOps repo\'s main (default: what the workflows last received)')
  .option('--json', 'print one JSON document: the rows GET /api/environments answers')
  .option('--sync-status <statuses>', 'only environments with one of these sync statuses, e.g. OutOfSync,Drifted (the API\'s syncStatus)')
  .option('--phase <phases>', 'only environments in one of these phases, e.g. WaitingForApproval (the API\'s phase)')
  .option('--search <text>', 'only environments whose name contains TEXT, without regard to case (the API\'s q)')
  .action(
    action(async (environment: string | undefined, flags: { repo?: string; json?: boolean; syncStatus?: string; phase?: string; search?: string }) => {
      checkEnvironments(environment);
      const { statusCommand } = await import('../starter/status');
      return statusCommand(environment, flags, readTemporalSettings(), output);
    }),
  );

program
  .command('dora')
  .description('the four DORA delivery figures per environment and overall: deployment frequency, lead time, change failure rate, time to restore')
  .option('--since <when>', 'from a duration back from now (30d, 12h) or an ISO-8601 date or time', '30d')
  .option('--json', 'print one JSON document: what GET /api/dora answers')
  .action(
    action(async (flags: { since: string; json?: boolean }) => {
      const { doraCommand } = await import('../starter/dora');
      return doraCommand(flags, readTemporalSettings(), output);
    }),
  );

program
  .command('bootstrap')
  .description('create or update the stack cfn-gitops-bootstrap holding the artifact bucket (versioned, encrypted, private), used when common/gitops.yaml names no artifactBucket')
  .option('--region <region>', 'the region to bootstrap (default: AWS_REGION or the AWS config)')
  .option('--bucket-name <name>', 'name the bucket (default: a unique name CloudFormation chooses; an existing stack keeps its bucket)')
  .option('--json', 'print { stackName, bucket, region, status } as JSON')
  .action(
    action(async (flags: { region?: string; bucketName?: string; json?: boolean }) => {
      const { bootstrapCommand } = await import('../starter/bootstrap');
      return bootstrapCommand(flags, output);
    }),
  );

program
  .command('server')
  .description('run the API server: dashboard, status and approvals API, GitHub webhook receiver')
  .option('--port <port>', 'port to listen on', port, 3000)
  .addOption(new Option('--host <host>', 'address to listen on; 0.0.0.0 for every interface').env('CFN_GITOPS_HOST').default('127.0.0.1'))
  .action(
    action(async (flags: { port: number; host?: string }) => {
      const { readServerSettings, runServer } = await import('../server');
      await runServer(readServerSettings(), { port: flags.port, host: flags.host, onListening: (url) => console.error(`cfn-gitops server listening on ${url}`) });
    }),
  );

program
  .command('worker')
  .description('run the Temporal worker (workflows and AWS activities) until SIGINT or SIGTERM')
  .action(
    action(async () => {
      const { readWorkerSettings } = await import('../worker/settings');
      const { runWorker } = await import('../worker');
      const settings = readWorkerSettings();
      await runWorker(settings, { logLevel: settings.logLevel, onReady: () => console.error(`worker polling ${settings.temporal.taskQueue} on ${settings.temporal.address}`) });
    }),
  );

program
  .command('dev-server')
  .description('run the Temporal dev server with the project\'s search attributes and the Web UI')
  .option('--port <port>', 'gRPC port', port, 7233)
  .option('--ui-port <port>', 'Web UI port', port, 8233)
  .option('--db-filename <file>', 'keep state in this SQLite file across restarts')
  .action(
    action(async (flags: { port: number; uiPort: number; dbFilename?: string }) => {
      const { startDevServer } = await import('../worker/dev-server');
      const server = await startDevServer({ port: flags.port, uiPort: flags.uiPort, dbFilename: flags.dbFilename });
      console.error(`Temporal dev server on ${server.address}, Web UI ${server.uiUrl}`);
      await new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, resolve);
        server.process.once('exit', resolve);
      });
      await server.stop();
    }),
  );

program
  .command('emulator')
  .description('run the local AWS emulator (CloudFormation, CodePipeline, S3) on one endpoint')
  .option('--port <port>', 'port to listen on', port, 4566)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--state <file>', 'keep state in this file across restarts')
  .action(
    action(async (flags: { port: number; host: string; state?: string }) => {
      const { startEmulator } = await import('../emulator');
      const emulator = await startEmulator({ port: flags.port, host: flags.host, stateFile: flags.state });
      console.error(`AWS emulator on ${emulator.url} (AWS_ENDPOINT_URL=${emulator.url})`);
      await new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, resolve);
      });
      await emulator.close();
    }),
  );

program
  .command('demo')
  .description('the main job on local defaults: dev server, emulator, worker, an example repo and three pushes')
  .option('--once', 'exit after the pushes (0 only when every step did what it should); also when CI=true')
  .option('--port <port>', 'Temporal gRPC port', port, 7233)
  .option('--ui-port <port>', 'Temporal Web UI port', port, 8233)
  .option('--emulator-port <port>', 'AWS emulator port', port, 4566)
  .option('--work-dir <dir>', 'where the demo keeps its git repo', '.demo')
  .action(
    action(async (flags: { once?: boolean; port: number; uiPort: number; emulatorPort: number; workDir: string }) => {
      const { runDemo, assertPortFree } = await import('./demo');
      for (const p of [flags.port, flags.uiPort, flags.emulatorPort]) await assertPortFree(p);
      return runDemo({ once: Boolean(flags.once) || process.env.CI === 'true', temporalPort: flags.port, uiPort: flags.uiPort, emulatorPort: flags.emulatorPort, workDir: flags.workDir });
    }),
  );

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? ExitCode.Ok : ExitCode.Invalid;
    return;
  }
  console.error(`cfn-gitops: ${(error as Error).message}`);
  process.exitCode = ExitCode.Failed;
});
