/** Reading what a Prometheus server would read: the text exposition format 0.0.4, and the metric names a PromQL query reads. */

/** One sample of a scrape. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A scrape, parsed. */
export interface Scrape {
  /** Metric family → its `# TYPE`. */
  types: Map<string, string>;
  samples: Sample[];
  /** Every line Prometheus would refuse, and every family declared twice. */
  problems: string[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gy;
const SUFFIXES = ['_bucket', '_sum', '_count', ''];

function parseLabels(text: string | undefined): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  if (!text) return labels;
  LABEL.lastIndex = 0;
  let end = 0;
  for (let match = LABEL.exec(text); match; match = LABEL.exec(text)) {
    labels[match[1]!] = match[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    end = LABEL.lastIndex;
  }
  return end === text.length ? labels : undefined;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return text === 'NaN' ? Number.NaN : Number(text);
}

/** Parses a scrape, noting what Prometheus would refuse: a malformed line, a family typed twice, a sample of no declared family. */
export function parseScrape(text: string): Scrape {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const problems: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      if (types.has(type[1]!)) problems.push(`family ${type[1]} declared twice`);
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    const labels = match ? parseLabels(match[2]) : undefined;
    const value = match ? parseValue(match[3]!) : Number.NaN;
    if (!match || !labels || (Number.isNaN(value) && match[3] !== 'NaN')) {
      problems.push(`malformed line: ${line}`);
      continue;
    }
    const name = match[1]!;
    if (!SUFFIXES.some((suffix) => name.endsWith(suffix) && types.has(name.slice(0, name.length - suffix.length)))) problems.push(`sample of no declared family: ${name}`);
    samples.push({ name, labels, value });
  }
  return { types, samples, problems };
}

/** The samples of `name` whose labels include `labels`. */
export function samplesOf(scrape: Scrape, name: string, labels: Record<string, string> = {}): Sample[] {
  return scrape.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there is none). */
export function valueOf(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  return samplesOf(scrape, name, labels).reduce((sum, s) => sum + s.value, 0);
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads: what is left once strings, label matchers, range
 * and subquery brackets, grouping clauses and function calls are taken out.
 */
export function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(new RegExp(`(${NAME})(\\s*\\()?`, 'g'))) {
    const [, name, call] = match;
    const before = bare[match.index! - 1];
    if (call || KEYWORDS.has(name!.toLowerCase()) || (before && /[\w$.]/.test(before))) continue;
    names.add(name!);
  }
  return [...names];
}
