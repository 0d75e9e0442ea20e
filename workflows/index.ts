/** Every workflow the worker registers. */
export { environmentWorkflow } from './environment';
export { deploymentWorkflow } from './deployment';
export { driftSweepWorkflow } from './drift';
export { templateStoreWorkflow } from './templates';
export { rolloutWorkflow } from './rollout';
