/**
 * A small validator for the messages workflow code takes, in place of zod there. The Temporal
 * SDK evaluates the workflow bundle's modules anew for every workflow instance it creates, so
 * whatever a module does at load is paid per environment replayed into the cache and per
 * deployment child: zod's initialisation and schema building cost 15–20 ms each time (3.3 s of
 * the workflow thread's 16 s during a push of 100 environments). Defining a schema here only
 * makes a few closures.
 *
 * Each schema decides exactly as the zod schema it replaced (`test/unit/message-schemas.property.test.ts`
 * holds those as the oracle): objects are loose and read `value[key]`; `optional` lets
 * `undefined` (or an absent key) through but not `null`; text lengths count code points, a
 * surrogate pair once, as zod 4 does; integers must be safe integers. A schema answers the first
 * problem it finds, in the order zod reports them, so the path names the same field.
 */

/** Where a value does not fit its schema, and why. */
export interface Problem {
  /** Keys and indexes from the message down to the offending value; empty for the value itself. */
  readonly path: readonly PropertyKey[];
  /** What is wrong, in a few words: `expected string, received number`. */
  readonly message: string;
}

/** A schema: the first problem with a value, or undefined when it fits. */
export type Schema = (value: unknown) => Problem | undefined;

const problem = (message: string): Problem => ({ path: [], message });

/** The problem of a part, seen from the whole. */
function under(key: PropertyKey, found: Problem | undefined): Problem | undefined {
  return found && { path: [key, ...found.path], message: found.message };
}

/** What a value is, for messages: `null`, `array`, `NaN`, `Infinity` or its `typeof`. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value;
}

const wrongType = (expected: string, value: unknown) => problem(`expected ${expected}, received ${kindOf(value)}`);
const characters = (n: number) => `${n} character${n === 1 ? '' : 's'}`;

/** Any object but an array (zod's object check: a Date or a Map passes). */
function isObject(value: unknown): value is Record<PropertyKey, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An object made by `{}`, `Object.create(null)` or JSON (zod's record check). */
function isPlainObject(value: unknown): value is Record<PropertyKey, unknown> {
  if (!isObject(value)) return false;
  const ctor = value.constructor;
  if (ctor === undefined || typeof ctor !== 'function') return true;
  const proto: unknown = ctor.prototype;
  return isObject(proto) && Object.prototype.hasOwnProperty.call(proto, 'isPrototypeOf');
}

/** Length of a text in code points: a surrogate pair counts once, a lone surrogate once. */
export function codePointLength(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    if ((text.charCodeAt(i) & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--;
      i++;
    }
  }
  return count;
}

/** Rules of a text field, checked in this order: trim, min, max, pattern. */
export interface TextRules {
  /** Measure the text with surrounding whitespace removed. */
  trim?: boolean;
  /** Fewest code points. */
  min?: number;
  /** Said when the text is shorter than `min`. */
  minMessage?: string;
  /** Most code points. */
  max?: number;
  /** A pattern the whole text matches (not global: `test` keeps no state). */
  pattern?: RegExp;
  /** Said when the text does not match `pattern`. */
  patternMessage?: string;
}

/** A string. */
export function text(rules: TextRules = {}): Schema {
  const { trim, min, minMessage, max, pattern, patternMessage } = rules;
  return (value) => {
    if (typeof value !== 'string') return wrongType('string', value);
    const measured = trim ? value.trim() : value;
    // A code point is one or two UTF-16 units: count them only when the units leave it in doubt.
    if (min !== undefined && measured.length < 2 * min && (measured.length < min || codePointLength(measured) < min)) {
      return problem(minMessage ?? `at least ${characters(min)}`);
    }
    if (max !== undefined && measured.length > max && codePointLength(measured) > max) return problem(`at most ${characters(max)}`);
    if (pattern && !pattern.test(measured)) return problem(patternMessage ?? `must match ${pattern}`);
    return undefined;
  };
}

/** A safe integer (finite, whole, within ±2^53 − 1) between `min` and `max`. */
export function integer(range: { min?: number; max?: number } = {}): Schema {
  const { min, max } = range;
  return (value) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return wrongType('number', value);
    if (!Number.isInteger(value)) return problem('expected an integer');
    if (!Number.isSafeInteger(value)) return problem('expected a safe integer');
    if (min !== undefined && value < min) return problem(`at least ${min}`);
    if (max !== undefined && value > max) return problem(`at most ${max}`);
    return undefined;
  };
}

/** true or false. */
export function boolean(): Schema {
  return (value) => (typeof value === 'boolean' ? undefined : wrongType('boolean', value));
}

/** One of a few strings. */
export function oneOf(values: readonly string[]): Schema {
  return (value) => (values.includes(value as string) ? undefined : problem(`expected one of ${values.join(', ')}`));
}

/** An array of at most `max` items, each fitting `item`. Too many items is said before a bad item. */
export function array(item: Schema, { max }: { max: number }): Schema {
  return (value) => {
    if (!Array.isArray(value)) return wrongType('array', value);
    if (value.length > max) return problem(`at most ${max} items`);
    // An index loop, not forEach: a hole is an undefined item, as zod reads it.
    for (let i = 0; i < value.length; i++) {
      const found = under(i, item(value[i]));
      if (found) return found;
    }
    return undefined;
  };
}

/** A plain object used as a map: every own enumerable key fits `key` and its value fits `value`. */
export function record(key: Schema, value: Schema): Schema {
  return (input) => {
    if (!isPlainObject(input)) return wrongType('object', input);
    for (const name of Reflect.ownKeys(input)) {
      // Skipped as zod skips it: an own `__proto__` (JSON.parse makes one) is never copied anywhere.
      if (name === '__proto__' || !Object.prototype.propertyIsEnumerable.call(input, name)) continue;
      const badKey = key(name);
      if (badKey) return { path: [name], message: `key: ${badKey.message}` };
      const found = under(name, value(input[name]));
      if (found) return found;
    }
    return undefined;
  };
}

/**
 * An object with at least these fields; other keys pass.
 * @example object({ reason: text({ max: 2_000 }) })({ reason: 7 }) // { path: ['reason'], message: 'expected string, received number' }
 */
export function object(shape: Readonly<Record<string, Schema>>): Schema {
  const keys = Object.keys(shape);
  return (value) => {
    if (!isObject(value)) return wrongType('object', value);
    for (const key of keys) {
      const found = under(key, shape[key]!(value[key]));
      if (found) return found;
    }
    return undefined;
  };
}

/** `undefined` (or an absent key) or what `schema` takes; not null. */
export function optional(schema: Schema): Schema {
  return (value) => (value === undefined ? undefined : schema(value));
}

/** `null` or what `schema` takes. */
export function nullable(schema: Schema): Schema {
  return (value) => (value === null ? undefined : schema(value));
}

/** Why a value does not fit its schema, in one line (`commit.sha: …`), or undefined when it fits. */
export function describeProblem(schema: Schema, value: unknown): string | undefined {
  const found = schema(value);
  if (!found) return undefined;
  const where = found.path.length ? `${found.path.map(String).join('.')}: ` : '';
  return `${where}${found.message}`;
}
