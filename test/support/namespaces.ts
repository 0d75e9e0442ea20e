/**
 * Workflow ids are per environment (`cfn-gitops/prod`), so integration test files that deploy
 * the same environment names each get a namespace of their own on the shared dev server.
 */
export const TEST_NAMESPACES = {
  deploy: 'it-deploy',
  chaos: 'it-chaos',
  races: 'it-races',
  faults: 'it-faults',
  approvals: 'it-approvals',
  visibility: 'it-visibility',
  api: 'it-api',
  dashboard: 'it-dashboard',
  dashboardScale: 'it-dashboard-scale',
  drift: 'it-drift',
  replay: 'it-replay',
  bench: 'it-bench',
  trust: 'it-trust',
  names: 'it-names',
  ownership: 'it-ownership',
  action: 'it-action',
  scaleOut: 'it-scale-out',
  package: 'it-package',
  metrics: 'it-metrics',
  templates: 'it-templates',
  approvers: 'it-approvers',
  dora: 'it-dora',
  wait: 'it-wait',
  rollout: 'it-rollout',
  freeze: 'it-freeze',
  expiry: 'it-expiry',
  longLived: 'it-long-lived',
} as const;
