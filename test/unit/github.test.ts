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

    it('appends the step summary and the outputs, and prints the annotations', () => {
      const summary = path.join(dir, 'summary.md');
      const output = path.join(dir, 'output');
      writeFileSync(summary, '# earlier step\n');
      const printed: string[] = [];
      reportToGithub(entries, link, { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output }, (line) => printed.push(line));

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
      expect(readFileSync(output, 'utf8')).toBe(
        [
          'environments=["development","prod"]',
          'failed=["prod"]',
          'result=[{"environment":"development","action":"sync","status":"accepted","workflowId":"cfn-gitops/development"},{"environment":"prod","action":"sync","status":"invalid","workflowId":"cfn-gitops/prod"}]',
          '',
        ].join('\n'),
      );
      expect(printed).toEqual(['::error file=prod/config.yaml,line=2,title=cfn-gitops prod::prod/config.yaml:2: appVersion: is required']);
    });

    it('prints no annotation when all is well', () => {
      const printed: string[] = [];
      reportToGithub(entries.slice(0, 1), link, { GITHUB_ACTIONS: 'true' }, (line) => printed.push(line));
      expect(printed).toEqual([]);
    });

    it('does nothing outside GitHub Actions', () => {
      const printed: string[] = [];
      reportToGithub(entries, link, {}, (line) => printed.push(line));
      expect(printed).toEqual([]);
      expect(existsSync(path.join(dir, 'summary.md'))).toBe(false);
    });
  });
});
