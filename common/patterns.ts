/**
 * Environment patterns, as the orchestrator's settings and `common/gitops.yaml` name
 * environments: a name, or a glob where `*` stands for any run of characters and `?` for one
 * (`feature*`, `prod-??`). Pure: used by the planner, the policy and the workflows alike.
 */

/** Does an environment name match a pattern? Case-sensitive, as folder names are. */
export function matchesPattern(name: string, pattern: string): boolean {
  // Iterative glob match: remembers the last `*` to backtrack to; linear in practice, never exponential.
  let n = 0;
  let p = 0;
  let star = -1;
  let afterStar = 0;
  while (n < name.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
      n++;
      p++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      afterStar = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++afterStar;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Does a name match any of the patterns? */
export function matchesAny(name: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => matchesPattern(name, pattern));
}
