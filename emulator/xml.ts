/** A value the XML writer renders: scalars as text, arrays as `<member>` lists, objects as nested elements. */
export type XmlValue = string | number | boolean | Date | undefined | null | XmlValue[] | { [key: string]: XmlValue };

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' };

/** Escapes text for an XML element or attribute. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"'\r]/g, (ch) => ESCAPES[ch]);
}

/** Appends the elements for `value` to `out` (the query protocol's shape: lists are wrapped `<member>` items). */
export function writeXml(out: string[], value: XmlValue): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item === undefined || item === null) continue;
      out.push('<member>');
      writeXml(out, item);
      out.push('</member>');
    }
    return;
  }
  if (value instanceof Date) {
    out.push(value.toISOString());
    return;
  }
  if (typeof value === 'object') {
    for (const key of Object.keys(value)) {
      const child = value[key];
      if (child === undefined || child === null) continue;
      out.push('<', key, '>');
      writeXml(out, child);
      out.push('</', key, '>');
    }
    return;
  }
  out.push(escapeXml(String(value)));
}

/** Renders a whole document whose root element is `root`. */
export function xmlDocument(root: string, body: XmlValue, xmlns?: string): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n<', root];
  if (xmlns) out.push(' xmlns="', xmlns, '"');
  out.push('>');
  writeXml(out, body);
  out.push('</', root, '>');
  return out.join('');
}

/** Reads the text of the first `<name>` element of a small XML document (request bodies such as CreateBucketConfiguration). */
export function xmlText(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}[^>]*>([^<]*)</${name}>`).exec(xml);
  return match ? match[1] : undefined;
}
