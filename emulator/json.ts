/** A JSON value as templates, resource properties and the state file hold it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** True when `value` is a plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Structural equality of two JSON values; key order does not matter. */
export function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    for (const key of keys) {
      if (!Object.prototype.hasOwnProperty.call(b, key) || !deepEqual(a[key], b[key])) return false;
    }
    return true;
  }
  return false;
}

/** A deep copy of a JSON value. */
export function clone<T extends Json | undefined>(value: T): T {
  return value === undefined ? value : (structuredClone(value) as T);
}

/** Reads the value at a slash path such as `/Tags/0/Value`. */
export function getPath(root: Json | undefined, path: string): Json | undefined {
  let node: Json | undefined = root;
  for (const part of splitPath(path)) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isObject(node)) node = Object.prototype.hasOwnProperty.call(node, part) ? node[part] : undefined;
    else return undefined;
  }
  return node;
}

/** Writes `value` at a slash path, creating objects on the way; `undefined` removes the key. */
export function setPath(root: JsonObject, path: string, value: Json | undefined): void {
  const parts = splitPath(path);
  if (parts.length === 0) return;
  let node: Json = root;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i];
    if (Array.isArray(node)) {
      const index = Number(part);
      if (node[index] === undefined || node[index] === null || typeof node[index] !== 'object') node[index] = {};
      node = node[index];
    } else if (isObject(node)) {
      if (!isObject(node[part]) && !Array.isArray(node[part])) node[part] = {};
      node = node[part];
    }
  }
  const last = parts[parts.length - 1];
  if (Array.isArray(node)) {
    if (value === undefined) node.splice(Number(last), 1);
    else node[Number(last)] = value;
  } else if (isObject(node)) {
    if (value === undefined) delete node[last];
    else node[last] = value;
  }
}

function splitPath(path: string): string[] {
  return path.split(/[/.]/).filter((part) => part.length > 0);
}

/** Lists the differences between an expected and an actual JSON value, as CloudFormation drift detection reports them. */
export function diffJson(
  expected: Json | undefined,
  actual: Json | undefined,
  path = '',
): { path: string; expected: Json | undefined; actual: Json | undefined; type: 'ADD' | 'REMOVE' | 'NOT_EQUAL' }[] {
  if (deepEqual(expected, actual)) return [];
  if (isObject(expected) && isObject(actual)) {
    const out: ReturnType<typeof diffJson> = [];
    for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
      out.push(...diffJson(expected[key], actual[key], `${path}/${key}`));
    }
    return out;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const out: ReturnType<typeof diffJson> = [];
    for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
      out.push(...diffJson(expected[i], actual[i], `${path}/${i}`));
    }
    return out;
  }
  if (expected === undefined) return [{ path, expected, actual, type: 'ADD' }];
  if (actual === undefined) return [{ path, expected, actual, type: 'REMOVE' }];
  return [{ path, expected, actual, type: 'NOT_EQUAL' }];
}
