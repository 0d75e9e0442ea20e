/**
 * The workflows as a build from before the watch Update registers them: the environment
 * workflow without a handler for `watchRequest`, so that the Update is refused as such a build
 * refuses it. Everything else is today's code. Workflow code: bundled by {@link ./older-build}.
 */
import { setHandler } from '@temporalio/workflow';
import { watchRequestUpdate, type EnvironmentWorkflowInput } from '../../common/messages';
import type { EnvironmentState } from '../../common/types';
import { environmentWorkflow as today } from '../../workflows/environment';

export { deploymentWorkflow } from '../../workflows/deployment';
export { driftSweepWorkflow } from '../../workflows/drift';
export { templateStoreWorkflow } from '../../workflows/templates';

export function environmentWorkflow(input: EnvironmentWorkflowInput): Promise<EnvironmentState> {
  // Today's workflow sets its handlers before its first await; the watch Update's is taken away again.
  const running = today(input);
  setHandler(watchRequestUpdate, undefined);
  return running;
}
