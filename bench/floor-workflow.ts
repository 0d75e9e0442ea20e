/**
 * The floor's workflow: the least an orchestrator on Temporal does to start one pipeline
 * execution (see bench/floor.ts). Started with signal-with-start, it runs one activity.
 */
import { defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';

/** What the floor's worker registers. */
export interface FloorActivities {
  startPipeline(pipelineName: string): Promise<void>;
}

/** The signal of the floor's signal-with-start. */
export const floorSignal = defineSignal('deploy');

const { startPipeline } = proxyActivities<FloorActivities>({ startToCloseTimeout: '30 seconds' });

/** Starts one execution of `pipelineName`. */
export async function floorWorkflow(pipelineName: string): Promise<void> {
  setHandler(floorSignal, () => undefined);
  await startPipeline(pipelineName);
}
