/** How long simulated work takes. Every field is in milliseconds. */
export interface EmulatorTiming {
  /** Total duration of one stack operation (create, update, delete, rollback), spread over its steps. */
  stackOperationMs: number;
  /** Duration of one pipeline action other than a CloudFormation deploy (which lasts as long as its stack operation). */
  actionMs: number;
  /** Time a change set takes to reach CREATE_COMPLETE (or FAILED). */
  changeSetMs: number;
  /** Time a drift detection takes to reach DETECTION_COMPLETE. */
  driftDetectionMs: number;
}

/** AWS-like but fast: each stack operation about one second, each pipeline action one second. */
export const DEFAULT_TIMING: EmulatorTiming = {
  stackOperationMs: 1000,
  actionMs: 1000,
  changeSetMs: 500,
  driftDetectionMs: 500,
};
