import { defineSearchAttributeKey } from '@temporalio/common';

/** Environment folder name, e.g. `prod`. */
export const ENVIRONMENT = defineSearchAttributeKey('Environment', 'KEYWORD');
/** App version requested by the deployment (env workflow: the deployed one). */
export const APP_VERSION = defineSearchAttributeKey('AppVersion', 'KEYWORD');
/** Git commit (full SHA) the workflow acts on. */
export const GIT_COMMIT = defineSearchAttributeKey('GitCommit', 'KEYWORD');
/** Current phase, one of {@link DeployPhase}. */
export const DEPLOY_PHASE = defineSearchAttributeKey('DeployPhase', 'KEYWORD');
/** Sync status with git, one of {@link SyncStatus}. */
export const SYNC_STATUS = defineSearchAttributeKey('SyncStatus', 'KEYWORD');

/** The custom search attributes with their types, as `temporal operator search-attribute create` takes them. */
export const SEARCH_ATTRIBUTE_TYPES = {
  Environment: 'Keyword',
  AppVersion: 'Keyword',
  GitCommit: 'Keyword',
  DeployPhase: 'Keyword',
  SyncStatus: 'Keyword',
} as const;
