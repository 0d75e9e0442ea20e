/**
 * Decodes an AWS query protocol form body into nested objects and arrays:
 * `Parameters.member.1.ParameterKey=A` becomes `{ Parameters: [{ ParameterKey: 'A' }] }` and
 * `Capabilities=` (an empty list) becomes `{ Capabilities: '' }`, which the readers treat as empty.
 */
export type QueryValue = string | QueryValue[] | { [key: string]: QueryValue };

/** A decoded query request. */
export type QueryObject = { [key: string]: QueryValue };

/** Parses `a=1&b.member.1=x` into a nested object. */
export function parseQuery(body: string): QueryObject {
  const root: QueryObject = {};
  const params = new URLSearchParams(body);
  for (const [name, value] of params) {
    const parts = name.split('.');
    let node: QueryObject | QueryValue[] = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      const last = i === parts.length - 1;
      if (Array.isArray(node)) {
        const index = Number(part) - 1;
        if (!Number.isInteger(index) || index < 0) break;
        if (last) node[index] = value;
        else {
          const existing: QueryValue | undefined = node[index];
          if (typeof existing !== 'object' || existing === null || Array.isArray(existing)) node[index] = {};
          node = node[index] as QueryObject;
        }
        continue;
      }
      if (last) {
        node[part] = value;
        break;
      }
      // `X.member.N` and `X.entry.N` are lists; anything else is a nested structure.
      if (parts[i + 1] === 'member' || parts[i + 1] === 'entry') {
        if (!Array.isArray(node[part])) node[part] = [];
        node = node[part] as QueryValue[];
        i++;
        if (i === parts.length - 1) break;
        continue;
      }
      const existing: QueryValue | undefined = node[part];
      if (typeof existing !== 'object' || existing === null || Array.isArray(existing)) node[part] = {};
      node = node[part] as QueryObject;
    }
  }
  compact(root);
  return root;
}

function compact(value: QueryValue): void {
  if (Array.isArray(value)) {
    for (let i = value.length - 1; i >= 0; i--) if (value[i] === undefined) value.splice(i, 1);
    for (const item of value) compact(item);
  } else if (typeof value === 'object') {
    for (const key of Object.keys(value)) compact(value[key]);
  }
}

/** Reads a string member. */
export function qString(q: QueryObject | undefined, key: string): string | undefined {
  const value = q?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** Reads a boolean member (`true` / `false`). */
export function qBool(q: QueryObject | undefined, key: string): boolean | undefined {
  const value = qString(q, key);
  return value === undefined ? undefined : value === 'true';
}

/** Reads an integer member. */
export function qInt(q: QueryObject | undefined, key: string): number | undefined {
  const value = qString(q, key);
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** Reads a list of strings. */
export function qStrings(q: QueryObject | undefined, key: string): string[] {
  const value = q?.[key];
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is string => typeof item === 'string');
}

/** Reads a list of structures. */
export function qList(q: QueryObject | undefined, key: string): QueryObject[] {
  const value = q?.[key];
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is QueryObject => typeof item === 'object' && item !== null && !Array.isArray(item));
}
