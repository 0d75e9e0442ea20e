/**
 * What the workflow bundle holds. The SDK evaluates the bundle's modules anew for every workflow
 * instance it creates (each environment replayed into the cache, each deployment child), so a
 * package imported from workflow code costs its load time per instance: zod cost 15–20 ms each,
 * 3.3 s of the workflow thread's 16 s in a push of 100 environments. Messages are checked with
 * `common/validate.ts` instead.
 */
import { readFileSync } from 'node:fs';

/** The bundle global-setup built from `workflows/` for this run. */
function workflowBundle(): string {
  const bundle = process.env.CFN_GITOPS_TEST_BUNDLE;
  if (!bundle) throw new Error('CFN_GITOPS_TEST_BUNDLE is not set: run this test through jest, whose global setup writes the bundle');
  return readFileSync(bundle, 'utf8');
}

/** The modules of a webpack bundle by id (`./common/names.ts`, `./node_modules/ms/index.js`), each with its code. */
function modulesOf(code: string): Map<string, string> {
  const modules = new Map<string, string>();
  const header = /^\/\*\*\*\/ "(\.\/[^"]+)"$/gm;
  const starts = [...code.matchAll(header)];
  starts.forEach((match, i) => modules.set(match[1]!, code.slice(match.index, starts[i + 1]?.index ?? code.length)));
  return modules;
}

const isPackage = (name: string) => (id: string) => id.includes(`/node_modules/${name}/`);

describe('the workflow bundle', () => {
  const modules = modulesOf(workflowBundle());

  it('is read module by module (so the check below can fail)', () => {
    const ids = [...modules.keys()];
    expect(ids).toEqual(expect.arrayContaining(['./workflows/environment.ts', './common/message-schemas.ts', './common/validate.ts']));
    expect(ids.filter(isPackage('@temporalio/workflow')).length).toBeGreaterThan(5);
  });

  it('holds no zod, and no module of its own imports it', () => {
    const zod = [...modules.keys()].filter(isPackage('zod'));
    const importers = [...modules].filter(([id, body]) => !isPackage('zod')(id) && /__webpack_require__\([^)]*node_modules\/zod\//.test(body)).map(([id]) => id);
    expect({ zod, importers }).toEqual({ zod: [], importers: [] });
  });
});
