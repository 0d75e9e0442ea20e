import { parseDuration } from './duration';

/**
 * Expiring environments: `expires:` (a date or time) or `ttl:` (a duration from the first
 * deploy) in `<env>/config.yaml`. Pure, and part of the workflow bundle: the environment
 * workflow decides with its own clock, so the decision replays.
 */

/** The two keys a config may set (at most one of them). */
export interface ExpiryRule {
  /** ISO-8601 time (the starter normalises `2026-12-31` to its 00:00 UTC). */
  expires?: string;
  /** A duration from the environment's first deploy: `7d`, `12h`. */
  ttl?: string;
}

/** When an environment expires, and the rule that says so, as its state and status show it. */
export interface Expiry {
  at: string;
  /** `expires 2026-12-31T00:00:00.000Z` or `ttl 7d from the first deploy at …`. */
  rule: string;
}

/** How long ahead `status` and the dashboard warn that an environment expires. */
export const EXPIRY_WARNING_MS = 3 * 86_400_000;

/**
 * When an environment under this config expires: `expires`, or `ttl` after its first deploy
 * (`now` for one not deployed yet). Undefined when the config sets neither, or sets one that
 * does not parse (the starter refuses those; a hand-made message must not wedge the workflow).
 * @example expiryOf({ ttl: '7d' }, '2026-12-01T00:00:00.000Z', now) // { at: '2026-12-08T00:00:00.000Z', rule: 'ttl 7d from the first deploy at 2026-12-01T00:00:00.000Z' }
 */
export function expiryOf(config: ExpiryRule | undefined, firstDeployedAt: string | undefined, now: Date): Expiry | undefined {
  if (typeof config?.expires === 'string') {
    const at = Date.parse(config.expires);
    return Number.isNaN(at) ? undefined : { at: new Date(at).toISOString(), rule: `expires ${new Date(at).toISOString()}` };
  }
  if (typeof config?.ttl === 'string') {
    let ttl: number;
    try {
      ttl = parseDuration(config.ttl);
    } catch {
      return undefined;
    }
    const from = firstDeployedAt ?? now.toISOString();
    const start = Date.parse(from);
    if (Number.isNaN(start) || ttl <= 0) return undefined;
    return { at: new Date(start + ttl).toISOString(), rule: `ttl ${config.ttl} from the first deploy at ${from}` };
  }
  return undefined;
}

/**
 * A short, stable fingerprint of a config (FNV-1a over its JSON): an expired environment comes
 * back only for a config other than the one it expired under. Not a security check.
 */
export function configFingerprint(config: unknown): string {
  const text = JSON.stringify(config ?? null);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `${text.length.toString(16)}-${hash.toString(16).padStart(8, '0')}`;
}

/**
 * The warning `status` and the dashboard show when an environment expires within three days:
 * `expires in 2d 4h (ttl 7d from …)`; undefined when it is further off or has no expiry.
 */
export function expiryWarning(expiry: Expiry | undefined, now: number): string | undefined {
  if (!expiry) return undefined;
  const left = Date.parse(expiry.at) - now;
  if (Number.isNaN(left) || left > EXPIRY_WARNING_MS) return undefined;
  return left <= 0 ? `expiry due (${expiry.rule}): the environment is being deleted` : `expires in ${spanText(left)} (${expiry.rule})`;
}

/** `2d 4h`, `5h 10m`, `12m`: the two largest units. */
function spanText(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes % 60}m`;
  return `${minutes}m`;
}
