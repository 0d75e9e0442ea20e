/**
 * Rollout waves (`waves:` in `common/gitops.yaml`): which wave each environment of a push
 * belongs to, and what the rollout workflow takes and tells. Pure: used by the starter, the
 * rollout workflow and status alike.
 */
import { parseDuration } from './duration';
import { matchesPattern } from './patterns';
import type { Action, DeploymentResult, DesiredState, RepoSettings, SubmitOutcome } from './types';

/** Workflow id of the rollout of one push: `cfn-gitops-rollout/<sha>`. */
export function rolloutWorkflowId(sha: string): string {
  return `cfn-gitops-rollout/${sha}`;
}

/**
 * The waves of a push's environments, in order, none empty: an environment goes to the first
 * wave one of whose patterns it matches; those no pattern matches form a last wave.
 * @example assignWaves(['dev', 'prod', 'qa'], [['dev'], ['prod']]) // [['dev'], ['prod'], ['qa']]
 */
export function assignWaves(environments: readonly string[], waves: readonly (readonly string[])[]): string[][] {
  const assigned: string[][] = waves.map(() => []);
  const rest: string[] = [];
  for (const environment of [...environments].sort()) {
    const index = waves.findIndex((patterns) => patterns.some((pattern) => matchesPattern(environment, pattern)));
    (index < 0 ? rest : assigned[index]!).push(environment);
  }
  return [...assigned, rest].filter((wave) => wave.length > 0);
}

/** The wait between waves in milliseconds (0 without `bake`); the schema has checked the value. */
export function bakeMs(settings: Pick<RepoSettings, 'bake'>): number {
  return settings.bake === undefined ? 0 : parseDuration(settings.bake);
}

/** One environment of a rollout, as `start` hands it over. */
export interface RolloutMember {
  environment: string;
  action: Action;
  /** What to submit; absent when the plan found the environment's config invalid (it fails its wave). */
  desired?: DesiredState;
  /** Why the environment could not be submitted (invalid config, templates not stored). */
  error?: string;
  /** Compare-and-set guess for `submit` (`follows`): the push's `before` when it is an ancestor. */
  follows: string | null;
}

/** Arguments of the rollout workflow. */
export interface RolloutInput {
  /** The push's commit (full SHA). */
  commit: string;
  /** The waves in order, each a list of members. */
  waves: RolloutMember[][];
  /** Wait between two waves, in milliseconds. */
  bakeMs: number;
}

/** Where one environment of a rollout stands. */
export const RolloutStatus = {
  /** Its wave has not started. */
  Waiting: 'Waiting',
  /** Submitted; its request runs or waits in the environment workflow. */
  Running: 'Running',
  /** An earlier wave did not succeed, or a newer push superseded the rollout: never submitted, AWS untouched. */
  Halted: 'Halted',
} as const;
export type RolloutStatus = (typeof RolloutStatus)[keyof typeof RolloutStatus];

/** One environment's line in a rollout's state. */
export interface RolloutEntry {
  environment: string;
  action: Action;
  /** 1-based wave number. */
  wave: number;
  /**
   * The request's result once it has ended, else where it stands; `invalid`, `error` or `stale`
   * when it could not be submitted; `expired` when the environment expired and this push does
   * not bring it back (that holds no later wave).
   */
  status: RolloutStatus | DeploymentResult | 'invalid' | 'error' | 'stale' | 'expired';
  message?: string;
}

/** The rollout workflow's state (its `rolloutState` query and its result). */
export interface RolloutState {
  commit: string;
  /** The wave running now (1-based); after the end, the last wave started. */
  wave: number;
  waves: number;
  /** Done: every wave ended or was halted. */
  done: boolean;
  /** Why later waves were halted: which environment, which deployment, or which push superseded the rollout. */
  haltReason?: string;
  entries: RolloutEntry[];
}

/** The newer push that supersedes a rollout in progress. */
export interface SupersedeRequest {
  /** The newer push's commit (full SHA). */
  by: string;
}

/** How one member's submit went: the environment workflow's answer, or why it could not be asked. */
export interface WaveSubmit {
  environment: string;
  outcome: SubmitOutcome | 'error';
  message: string;
}

/** One request a wave waits for. */
export interface WaveRequest {
  environment: string;
  commit: string;
  action: Action;
}

/** How one request of a wave ended. */
export interface WaveEnd {
  environment: string;
  /** The request's result; undefined when the environment holds no such request any more. */
  result?: DeploymentResult;
  message?: string;
}
