import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BOOTSTRAP_TEMPLATE } from '../../common/bootstrap';
import { ROOT } from './example-files';

/** The template `cfn-gitops bootstrap` deploys goes to real AWS as it is: cfn-lint finds nothing in it. */
describe('the bootstrap template', () => {
  it('is cfn-lint clean in us-east-1 and eu-west-1: no errors, no warnings', () => {
    const lint = path.join(ROOT, '.tools', 'venv', 'bin', 'cfn-lint');
    if (!existsSync(lint)) throw new Error('cfn-lint is not installed: run `bash scripts/setup.sh` (it installs it into .tools/venv)');
    const dir = mkdtempSync(path.join(tmpdir(), 'bootstrap-template-'));
    try {
      const file = path.join(dir, 'bootstrap.yaml');
      writeFileSync(file, BOOTSTRAP_TEMPLATE);
      const result = spawnSync(lint, ['--format', 'json', '--regions', 'us-east-1', 'eu-west-1', '--', file], { encoding: 'utf8', timeout: 120_000 });
      expect(result.error).toBeUndefined();
      expect(JSON.parse(result.stdout)).toEqual([]);
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
