import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { readWorkerSettings } from '../../worker/settings';
import type { TestAws } from './aws';

/** A worker of an older build, in the test's own process. */
export interface OlderBuildWorker {
  stop(): Promise<void>;
}

/**
 * A worker with today's activities, on the emulator's clients, and settings from `env` as
 * `cfn-gitops worker` reads them, whose environment workflow has no watch Update, as builds
 * before it had none (test/support/older-build-workflows.ts). Bundling it takes a few seconds.
 */
export async function startOlderBuildWorker(env: NodeJS.ProcessEnv, aws: TestAws): Promise<OlderBuildWorker> {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // A Runtime is already installed in this process.
  }
  const settings = readWorkerSettings(env);
  const connection = await NativeConnection.connect({ address: settings.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: settings.temporal.namespace,
    taskQueue: settings.temporal.taskQueue,
    workflowsPath: require.resolve('./older-build-workflows'),
    activities: createActivities({
      aws: { cloudFormation: () => aws.cloudFormation, codePipeline: () => aws.codePipeline, s3: () => aws.s3 },
      policy: settings.policy,
      timing: settings.poll,
      defaultRegion: settings.region,
      installation: settings.installation,
    }),
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
