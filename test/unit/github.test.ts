import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RenderedEntry } from '../../common/render';
import { readGithubPush, reportToGithub } from '../../starter/github';

const link = (workflowId: string) => `http://ui.test/namespaces/default/workflows/${encodeURIComponent(workflowId)}`;
const BEFORE = 'b'.repeat(40);
const AFTER = 'a'.repeat(40);

describe('GitHub Actions', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cfn-gitops-gha-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('readGithubPush', () => {
    it('reads before and after from the push event and the repo from GITHUB_WORKSPACE', () => {
      const event = path.join(dir, 'event.json');
      writeFileSync(event, JSON.stringify({ ref: 'refs/heads/main', before: BEFORE, after: AFTER }));
      expect(readGithubPush({ GITHUB_WORKSPACE: '/w/repo', GITHUB_EVENT_PATH: event, GITHUB_SHA: 'c'.repeat(40) })).toEqual({ repo: '/w/repo', before: BEFORE, after: AFTER });
    });

    it('falls back to GITHUB_SHA when the event has no after (workflow_dispatch)', () => {
      const event = path.join(dir, 'event.json');
      writeFileSync(event, JSON.stringify({ inputs: {} }));
      expect(readGithubPush({ GITHUB_EVENT_PATH: event, GITHUB_SHA: AFTER })).toEqual({ repo: undefined, before: undefined, after: AFTER });
      expect(readGithubPush({ GITHUB_SHA: AFTER })).toEqual({ repo: undefined, after: AFTER });
    });

    it('is empty outside Actions', () => {
      expect(readGithubPush({})).toEqual({ repo: undefined });
    });

    it('names GITHUB_EVENT_PATH when the event cannot be read', () => {
      const missing = path.join(dir, 'nope.json');
      expect(() => readGithubPush({ GITHUB_EVENT_PATH: missing })).toThrow(`cannot read the push event at GITHUB_EVENT_PATH=${missing}: ENOENT`);
    });
  });

  describe('reportToGithub', () => {
    const entries: RenderedEntry[] = [
      { environment: 'development', action: 'sync', status: 'accepted', reason: 'config changed', appVersion: '1.5.0', workflowId: 'cfn-gitops/development', message: 'taken | runs now' },
      { environment: 'prod', action: 'sync', status: 'invalid', reason: 'config changed', workflowId: 'cfn-gitops/prod', error: 'prod/config.yaml:2: appVersion: is required', file: 'prod/config.yaml', line: 2 },
    ];
    let printed: string[];
    const saved = { ...process.env };

    /** @actions/core reads the runner's files from process.env and prints workflow commands on stdout. */
    function inActions(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
      Object.assign(process.env, env);
      return env;
    }

    beforeEach(() => {
      printed = [];
      jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (printed.push(String(chunk).trimEnd()), true));
    });
    afterEach(() => {
      jest.restoreAllMocks();
      for (const key of ['GITHUB_ACTIONS', 'GITHUB_STEP_SUMMARY', 'GITHUB_OUTPUT']) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    });

    /** The runner's reading of a GITHUB_OUTPUT file: `name<<DELIMITER` blocks. */
    function outputsIn(file: string): Record<string, string> {
      const outputs: Record<string, string> = {};
      const pattern = /^([^<\n]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
      for (const [, name, , value] of readFileSync(file, 'utf8').matchAll(pattern)) outputs[name!] = value!;
      return outputs;
    }

    it('appends the step summary and the outputs, and prints the annotations', async () => {
      const summary = path.join(dir, 'summary.md');
      const output = path.join(dir, 'output');
      writeFileSync(summary, '# earlier step\n');
      writeFileSync(output, '');
      await reportToGithub(entries, link, inActions({ GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output }));

      expect(readFileSync(summary, 'utf8')).toBe(
        [
          '# earlier step',
          '### cfn-gitops deployments',
          '',
          '| Environment | Action | Version | Status | Details | Workflow |',
          '| --- | --- | --- | --- | --- | --- |',
          '| development | sync | 1.5.0 | accepted | taken \\| runs now | [cfn-gitops/development](http://ui.test/namespaces/default/workflows/cfn-gitops%2Fdevelopment) |',
          '| prod | sync | - | invalid | prod/config.yaml:2: appVersion: is required | [cfn-gitops/prod](http://ui.test/namespaces/default/workflows/cfn-gitops%2Fprod) |',
          '',
        ].join('\n'),
      );
      expect(outputsIn(output)).toEqual({
        environments: '["development","prod"]',
        failed: '["prod"]',
        result: '[{"environment":"development","action":"sync","status":"accepted","workflowId":"cfn-gitops/development"},{"environment":"prod","action":"sync","status":"invalid","workflowId":"cfn-gitops/prod"}]',
      });
      expect(printed).toEqual(['::error title=cfn-gitops prod,file=prod/config.yaml,line=2::prod/config.yaml:2: appVersion: is required']);
    });

    it('escapes what would break a workflow command', async () => {
      const entry: RenderedEntry = { environment: 'a,b', action: 'sync', status: 'invalid', reason: 'added', workflowId: 'cfn-gitops/a,b', error: 'broken\n100%', file: 'odd:dir/config.yaml', line: 2 };
      await reportToGithub([entry], link, inActions({ GITHUB_ACTIONS: 'true' }));
      expect(printed).toEqual(['::error title=cfn-gitops a%2Cb,file=odd%3Adir/config.yaml,line=2::broken%0A100%25']);
    });

    it('prints no annotation when all is well', async () => {
      await reportToGithub(entries.slice(0, 1), link, inActions({ GITHUB_ACTIONS: 'true' }));
      expect(printed).toEqual([]);
    });

    it('does nothing outside GitHub Actions', async () => {
      await reportToGithub(entries, link, {});
      expect(printed).toEqual([]);
      expect(existsSync(path.join(dir, 'summary.md'))).toBe(false);
    });
  });
});
