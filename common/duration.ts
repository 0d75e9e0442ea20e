/** Units a duration setting may use: `500ms`, `30s`, `15m`, `2h`, `7d`. */
const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds in a duration such as `7d` or `90s`; a bare number is milliseconds.
 * @throws Error naming the value and the accepted forms.
 * @example parseDuration('15m') // 900000
 */
export function parseDuration(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!match) throw new Error(`"${value}" is not a duration: write e.g. 500ms, 30s, 15m, 2h or 7d`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!);
}
