import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { githubOutputs } from '../../starter/github';

const ROOT = path.resolve(__dirname, '..', '..');
const COMMITTED = path.join(ROOT, 'dist-action', 'index.js');
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * The runner executes the committed dist-action/index.js as it is: a change to the sources
 * without `npm run build` (and a commit of the bundle) would ship the old action.
 */
describe('the GitHub Action bundle', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cfn-gitops-action-bundle-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('dist-action/index.js is what the sources build today (else: npm run build, and commit dist-action/index.js)', async () => {
    const fresh = path.join(dir, 'index.js');
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts', 'build-action.js'), fresh]);
    expect({ file: 'dist-action/index.js', sha256: sha256(COMMITTED) }).toEqual({ file: 'dist-action/index.js', sha256: sha256(fresh) });
  });

  it('action.yml runs the bundle and declares the outputs the action sets', () => {
    const action = parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8'));
    expect(action.runs).toEqual({ using: 'node24', main: 'dist-action/index.js' });
    expect(existsSync(path.join(ROOT, action.runs.main))).toBe(true);
    expect(Object.keys(action.outputs).sort()).toEqual(Object.keys(githubOutputs([])).sort());
    expect(Object.keys(action.inputs).sort()).toEqual(['repo', 'task-queue', 'temporal-address', 'temporal-api-key', 'temporal-namespace', 'temporal-ui-url', 'wait']);
  });
});
