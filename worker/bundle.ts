import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

/** The worker's workflow interceptors (deployment metrics), bundled with the workflows. */
export const WORKFLOW_INTERCEPTOR_MODULES = [require.resolve('./workflow-interceptors')];

/**
 * Writes the workflow bundle, with the worker's workflow interceptors, next to the compiled
 * worker (`dist/workflow-bundle.js`) so that a worker starts in well under a second instead of
 * bundling for several.
 */
export async function writeWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: new DefaultLogger('WARN'),
  });
  const target = path.resolve(__dirname, '..', 'workflow-bundle.js');
  writeFileSync(target, code);
  return target;
}

if (require.main === module) {
  writeWorkflowBundle().then(
    (target) => console.error(`workflow bundle written to ${target}`),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
