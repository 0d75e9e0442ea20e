import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../common/errors';
import type { StoreTemplatesInput, TemplateRef } from '../common/templates';

const { storeTemplates } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 8, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
  summary: 'store the push\'s templates by hash in the artifact bucket',
});

/**
 * Stores one push's `common/` templates in the artifact bucket, once per hash, before `start`
 * hands the environments their desired states by hash. The bodies cross Temporal here once per
 * push instead of once per environment and activity.
 */
export async function templateStoreWorkflow(input: StoreTemplatesInput): Promise<TemplateRef[]> {
  return storeTemplates(input);
}
