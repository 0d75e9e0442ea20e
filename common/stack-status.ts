/**
 * Can a pipeline run on a stack in this state without first waiting for it or repairing it?
 * UPDATE_ROLLBACK_COMPLETE can: the last update was rolled back and the stack stands. The sync
 * in one activity and the deployment workflow decide by this one rule.
 * @example stackReady('UPDATE_COMPLETE') // true; stackReady('ROLLBACK_COMPLETE') // false
 */
export function stackReady(status: string): boolean {
  return status === 'UPDATE_ROLLBACK_COMPLETE' || !/_IN_PROGRESS$|FAILED$|ROLLBACK_COMPLETE$/.test(status);
}
