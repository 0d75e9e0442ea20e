/**
 * Rollout waves (`waves:` in `common/gitops.yaml`): which wave each environment of a push
 * belongs to, and what the rollout workflow takes and tells. Pure: used by the starter, the
 * rollout workflow and status alike.
 */
import { parseDuration } from './duration';
import { matchesPattern } from './patterns';
import { Action, type DeploymentResult, type DesiredState, type RepoSettings, type SubmitOutcome } from './types';

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

/**
 * The parts of a desired state that every environment of one push has alike: the commit (its
 * message up to 4 KB), the repo's settings, the pusher and, for syncs, the templates by hash.
 */
export type SharedDesired = Partial<Pick<DesiredState, 'commit' | 'settings' | 'pushedBy' | 'templateRefs'>>;
type SharedKey = keyof SharedDesired;
const SHARED_KEYS: readonly SharedKey[] = ['commit', 'settings', 'pushedBy', 'templateRefs'];

/** A member's own part of its desired state: the keys it has like the rollout's `shared` are left out. */
export type MemberDesired = Omit<DesiredState, SharedKey> & SharedDesired;

/**
 * Takes out of each desired state the parts it has alike with the first that has them, so that
 * they cross Temporal once per rollout and per wave, not once per environment: a push of 2,500
 * environments, or of 500 with a long commit message, would otherwise pass the 2 MB a payload
 * may hold.
 * @example hoistShared([a, b]) // { shared: { commit, settings, templateRefs }, members: [{ environment: 'dev', … }, …] }
 */
export function hoistShared(desired: readonly DesiredState[]): { shared: SharedDesired; members: MemberDesired[] } {
  const shared: Record<string, unknown> = {};
  const json = new Map<string, string>();
  for (const key of SHARED_KEYS) {
    const first = desired.find((state) => state[key] !== undefined);
    if (first === undefined) continue;
    shared[key] = first[key];
    json.set(key, JSON.stringify(first[key]));
  }
  const members = desired.map((state) => {
    const own: Record<string, unknown> = { ...state };
    for (const key of SHARED_KEYS) if (own[key] !== undefined && JSON.stringify(own[key]) === json.get(key)) delete own[key];
    return own as MemberDesired;
  });
  return { shared: shared as SharedDesired, members };
}

/**
 * A member's whole desired state again: its own part over the rollout's `shared`. Only a sync
 * without template bodies of its own takes the shared templates (a delete has none). Members of rollouts started before `shared`
 * carry every part themselves.
 */
export function withShared(member: MemberDesired, shared: SharedDesired | undefined): DesiredState {
  if (!shared) return member as DesiredState;
  const { templateRefs, ...rest } = shared;
  return { ...rest, ...(member.action === Action.Sync && member.templates === undefined && templateRefs ? { templateRefs } : {}), ...member } as DesiredState;
}

/** One environment of a rollout, as `start` hands it over. */
export interface RolloutMember {
  environment: string;
  action: Action;
  /**
   * What to submit, less the parts in the rollout's `shared`; absent when the plan found the
   * environment's config invalid or its templates could not be stored (it fails its wave).
   */
  desired?: MemberDesired;
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
  /** What every member's desired state has alike, sent once ({@link hoistShared}); absent in rollouts started before it. */
  shared?: SharedDesired;
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
