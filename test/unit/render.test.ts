import type { DriftSweepResult } from '../../common/drift';
import { plan } from '../../common/plan';
import {
  renderAnnotations,
  renderDriftReport,
  renderPendingApprovals,
  renderPlan,
  renderStartReport,
  renderStatusDetail,
  renderStatusTable,
  renderStepSummary,
  textTable,
  type RenderedEntry,
} from '../../common/render';
import { deploymentsOf, statusRow, type GitMain, type WorkflowFacts } from '../../common/status';
import type { EnvironmentState } from '../../common/types';
import { idleState, record, waitingState } from '../server/fakes';
import { commit, config, snapshot } from '../support/fixtures';

const link = (workflowId: string) => `http://ui.test/namespaces/default/workflows/${encodeURIComponent(workflowId)}`;

const entries: RenderedEntry[] = [
  { environment: 'development', action: 'sync', status: 'Succeeded', reason: 'config changed', appVersion: '1.5.0', workflowId: 'cfn-gitops/development', message: 'development: app 1.5.0 deployed by execution e-1' },
  { environment: 'featureX', action: 'delete', status: 'accepted', reason: 'removed', workflowId: 'cfn-gitops/featureX' },
  {
    environment: 'prod',
    action: 'sync',
    status: 'invalid',
    reason: 'config changed',
    workflowId: 'cfn-gitops/prod',
    error: 'prod/config.yaml:3: parameters.InstanceType: expected string | number,\ngot array',
    file: 'prod/config.yaml',
    line: 3,
  },
];

describe('textTable', () => {
  it('pads every column to its widest cell and trims the line ends', () => {
    expect(textTable(['A', 'BB'], [['xxx', 'y'], ['z', '']])).toBe('A    BB\nxxx  y\nz');
  });

  it('prints only the header when there are no rows', () => {
    expect(textTable(['ENVIRONMENT', 'ACTION'], [])).toBe('ENVIRONMENT  ACTION');
  });
});

describe('renderPlan', () => {
  it('shows the range, the notes and one row per environment, with the error in place of the reason', () => {
    const before = snapshot({ 'prod/config.yaml': config('"1.0.0"'), 'featureX/config.yaml': config('"0.1.0"') }, commit('b0b0b0b0', 10));
    const after = snapshot({ 'prod/config.yaml': config('"1.1.0"'), 'dev/config.yaml': 'appVersion: [1]\n' }, commit('a1a1a1a1', 11));
    const result = plan({
      before,
      after,
      changes: [{ path: 'prod/config.yaml' }, { path: 'dev/config.yaml' }, { path: 'featureX/config.yaml' }],
      notes: ['a note'],
    });
    expect(renderPlan(result)).toBe(
      [
        'plan b0b0b0b..a1a1a1a: 3 environment(s)',
        'note: a note',
        'ENVIRONMENT  ACTION   VERSION  REASON',
        `dev          invalid  -        ${result.environments[0]!.error!.message}`,
        'featureX     delete   -        removed',
        'prod         sync     1.1.0    config changed',
      ].join('\n'),
    );
    expect(result.environments[0]!.error!.message).toMatch(/^dev\/config\.yaml:1: appVersion/);
  });

  it('says "nothing to do" for a push that changes no environment, and leaves out the range start on a first push', () => {
    expect(renderPlan({ after: 'a1a1a1a1'.padEnd(40, '0'), notes: [], environments: [] })).toBe('plan a1a1a1a: 0 environment(s)\nnothing to do');
  });
});

describe('renderStartReport', () => {
  it('prints one row per environment with the detail and a Temporal UI link', () => {
    const rows: RenderedEntry[] = [
      { ...entries[0]!, message: 'deployed by e-1' },
      entries[1]!,
      { ...entries[2]!, error: 'prod/config.yaml:3: bad' },
    ];
    expect(renderStartReport(rows, link)).toBe(
      [
        'ENVIRONMENT  ACTION  VERSION  STATUS     DETAIL                   TEMPORAL UI',
        'development  sync    1.5.0    Succeeded  deployed by e-1          http://ui.test/namespaces/default/workflows/cfn-gitops%2Fdevelopment',
        'featureX     delete  -        accepted   removed                  http://ui.test/namespaces/default/workflows/cfn-gitops%2FfeatureX',
        'prod         sync    -        invalid    prod/config.yaml:3: bad  http://ui.test/namespaces/default/workflows/cfn-gitops%2Fprod',
      ].join('\n'),
    );
  });

  it('says "nothing to do" without entries', () => {
    expect(renderStartReport([], link)).toBe('nothing to do');
  });
});

describe('renderStepSummary (GitHub Actions job summary)', () => {
  it('writes a Markdown table, escaping | and folding newlines inside cells', () => {
    expect(renderStepSummary('cfn-gitops deployments', entries, link)).toBe(
      [
        '### cfn-gitops deployments',
        '',
        '| Environment | Action | Version | Status | Details | Workflow |',
        '| --- | --- | --- | --- | --- | --- |',
        '| development | sync | 1.5.0 | Succeeded | development: app 1.5.0 deployed by execution e-1 | [cfn-gitops/development](http://ui.test/namespaces/default/workflows/cfn-gitops%2Fdevelopment) |',
        '| featureX | delete | - | accepted | removed | [cfn-gitops/featureX](http://ui.test/namespaces/default/workflows/cfn-gitops%2FfeatureX) |',
        '| prod | sync | - | invalid | prod/config.yaml:3: parameters.InstanceType: expected string \\| number, got array | [cfn-gitops/prod](http://ui.test/namespaces/default/workflows/cfn-gitops%2Fprod) |',
        '',
      ].join('\n'),
    );
  });

  it('keeps a version holding | inside its cell', () => {
    const [row] = renderStepSummary('t', [{ ...entries[0]!, appVersion: 'a|b' }], link).split('\n').slice(4);
    expect(row).toBe('| development | sync | a\\|b | Succeeded | development: app 1.5.0 deployed by execution e-1 | [cfn-gitops/development](http://ui.test/namespaces/default/workflows/cfn-gitops%2Fdevelopment) |');
    expect(row!.split(/(?<!\\)\|/)).toHaveLength(8);
  });

  it('says that no environment changed', () => {
    expect(renderStepSummary('cfn-gitops deployments', [], link)).toBe('### cfn-gitops deployments\n\nNo environment changed.\n');
  });
});

describe('renderAnnotations (GitHub Actions workflow commands)', () => {
  it('writes one ::error per invalid, errored or failed environment, with file, line and an escaped message', () => {
    const failed: RenderedEntry = { environment: 'staging', action: 'sync', status: 'Failed', reason: 'config changed', workflowId: 'cfn-gitops/staging', message: 'staging: 100% broken\r\nStartPipelineExecution refused' };
    const unreachable: RenderedEntry = { environment: 'qa', action: 'sync', status: 'error', reason: 'added', workflowId: 'cfn-gitops/qa', error: 'qa: could not submit' };
    expect(renderAnnotations([...entries, failed, unreachable])).toBe(
      [
        '::error file=prod/config.yaml,line=3,title=cfn-gitops prod::prod/config.yaml:3: parameters.InstanceType: expected string | number,%0Agot array',
        '::error title=cfn-gitops staging::staging: 100%25 broken%0D%0AStartPipelineExecution refused',
        '::error title=cfn-gitops qa::qa: could not submit',
      ].join('\n'),
    );
  });

  it('writes nothing when every environment is fine', () => {
    expect(renderAnnotations(entries.slice(0, 2))).toBe('');
  });
});

describe('renderers with awkward input', () => {
  const link = (id: string) => `http://ui/${id}`;
  it('keeps a multi-line error on one table row', () => {
    const entry: RenderedEntry = { environment: 'prod', action: 'sync', status: 'invalid', reason: 'config changed', workflowId: 'cfn-gitops/prod', error: 'prod/config.yaml:3: bad\n  more detail' };
    const lines = renderStartReport([entry], link).split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('prod/config.yaml:3: bad more detail');
  });

  it('escapes the separators of annotation properties', () => {
    const entry: RenderedEntry = { environment: 'a,b', action: 'sync', status: 'invalid', reason: '', workflowId: 'x', file: 'odd:dir/config.yaml', line: 2, error: 'broken' };
    expect(renderAnnotations([entry])).toBe('::error file=odd%3Adir/config.yaml,line=2,title=cfn-gitops a%2Cb::broken');
  });
});

describe('status in a terminal', () => {
  const NOW = Date.parse('2024-05-01T12:15:00.000Z');
  const url = (environment: string) => `http://ui.test/namespaces/default/workflows/cfn-gitops%2F${environment}`;
  const queried = (state: EnvironmentState): WorkflowFacts => ({ workflowId: `cfn-gitops/${state.environment}`, state, attributes: {} });
  const git: GitMain = { commit: 'f'.repeat(40), environments: new Map([['dev', { appVersion: '1.5.0' }], ['prod', { appVersion: '1.4.2' }], ['qa', { error: 'qa/config.yaml:1: appVersion: required' }]]) };

  it('renders a table with ages, the approval, and an invalid config', () => {
    const rows = [
      statusRow({ environment: 'dev', url: url('dev'), workflow: queried(idleState('dev', '1.4.2')), git }),
      statusRow({ environment: 'prod', url: url('prod'), workflow: queried(waitingState('prod', '1.4.1', '1.4.2')), git }),
      statusRow({ environment: 'qa', url: url('qa'), git }),
    ];
    expect(renderStatusTable(rows, NOW)).toBe(
      [
        'ENVIRONMENT  DESIRED         DEPLOYED  PHASE               SYNC       CHECKED  LAST RESULT        PENDING APPROVAL                             TEMPORAL UI',
        'dev          1.5.0           1.4.2     Idle                OutOfSync  15m ago  Succeeded 15m ago  -                                            http://ui.test/namespaces/default/workflows/cfn-gitops%2Fdev',
        'prod         1.4.2           1.4.1     WaitingForApproval  OutOfSync  15m ago  Succeeded 15m ago  1.4.1 → 1.4.2 (d1d1d1d by Dana <Developer>)  http://ui.test/namespaces/default/workflows/cfn-gitops%2Fprod',
        'qa           invalid config  -         -                   Missing    -        -                  -                                            http://ui.test/namespaces/default/workflows/cfn-gitops%2Fqa',
      ].join('\n'),
    );
  });

  it('says above the table which workflows did not answer their query', () => {
    const row = statusRow({ environment: 'dev', url: url('dev'), workflow: { workflowId: 'cfn-gitops/dev', attributes: { phase: 'Idle', appVersion: '1.4.2', syncStatus: 'Drifted' } } });
    expect(renderStatusTable([row], NOW).split('\n')[0]).toBe('note: dev: the workflow did not answer its state query (is a worker polling?); shown from its search attributes');
    expect(renderStatusTable([], NOW)).toBe('no environments: no environment workflow runs and no folder on main');
  });

  it('renders one environment with its notes and deployments, running ones first', () => {
    const state = { ...waitingState('prod', '1.4.1', '1.4.2'), history: [record(1, 'Failed', '1.4.1', 2)], lastResult: record(1, 'Failed', '1.4.1', 2) };
    const detail = { ...statusRow({ environment: 'prod', url: url('prod'), workflow: queried(state) }), deployments: deploymentsOf(state, url) };
    expect(renderStatusDetail(detail, NOW).split('\n').slice(3)).toEqual([
      'sync: OutOfSync (deployed)',
      '',
      'last result: Failed: Failed #1',
      '',
      '#  ACTION  VERSION  COMMIT   RESULT   ENDED    APPROVED BY  MESSAGE',
      '2  sync    1.4.2    d1d1d1d  running  -        -',
      '1  sync    1.4.1    c100000  Failed   15m ago  -            Failed #1',
    ]);
  });

  it('renders a drift sweep: table, drifted resources, self-heal and counts', () => {
    const result: DriftSweepResult = {
      startedAt: '2024-05-01T12:00:00Z',
      finishedAt: '2024-05-01T12:00:05Z',
      counts: { Drifted: 1, Synced: 1 },
      entries: [
        { environment: 'dev', status: 'Drifted', checkedAt: '2024-05-01T12:00:03Z', desiredVersion: '1.4.2', deployedVersion: '1.4.2', drifted: ['Topic (AWS::SNS::Topic) in cfn-gitops-dev: deleted'], message: '1 resource changed\noutside', stackPrefix: 'cfn-gitops-', region: 'us-east-1', healRequested: true },
        { environment: 'prod', status: 'Synced', checkedAt: '2024-05-01T12:00:04Z', drifted: [], stackPrefix: 'cfn-gitops-', region: 'us-east-1', healSkipped: 'policy' },
      ],
    };
    expect(renderDriftReport(result)).toBe(
      [
        'ENVIRONMENT  STATUS   DESIRED  DEPLOYED  CHECKED               MESSAGE',
        'dev          Drifted  1.4.2    1.4.2     2024-05-01T12:00:03Z  1 resource changed outside',
        'prod         Synced   -        -         2024-05-01T12:00:04Z',
        '',
        'dev: drifted resources',
        '  - Topic (AWS::SNS::Topic) in cfn-gitops-dev: deleted',
        "dev: self-heal asked the environment to deploy git's version again",
        'prod: no self-heal: policy',
        '',
        '2 environment(s): 1 Drifted, 1 Synced',
      ].join('\n'),
    );
    expect(renderDriftReport({ ...result, entries: [], counts: {} })).toBe('no environments: no environment workflows and no stacks under a known prefix');
  });

  it('renders what waits for approval, with the pipeline stack change set', () => {
    const approval = waitingState('prod', '1.4.1', '1.4.2').approval!;
    const twoNeeded = { ...approval, environment: 'live', requiredApprovals: 2, approvals: [{ by: 'Ann', at: '2024-05-01T12:20:00.000Z' }] };
    expect(
      renderPendingApprovals([{ ...approval, pipelineChanges: ['Modify Pipeline (AWS::CodePipeline::Pipeline)'] }, { ...approval, environment: 'qa', newVersion: undefined, action: 'delete' }, twoNeeded]),
    ).toBe(
      [
        'ENVIRONMENT  CURRENT  NEW     COMMIT   AUTHOR            APPROVED     WAITING SINCE             EXPIRES                   PIPELINE STACK',
        'prod         1.4.1    1.4.2   d1d1d1d  Dana <Developer>  -            2024-05-01T12:10:00.000Z  2024-05-08T12:10:00.000Z  Modify Pipeline (AWS::CodePipeline::Pipeline)',
        'qa           1.4.1    delete  d1d1d1d  Dana <Developer>  -            2024-05-01T12:10:00.000Z  2024-05-08T12:10:00.000Z  -',
        'live         1.4.1    1.4.2   d1d1d1d  Dana <Developer>  1 of 2: Ann  2024-05-01T12:10:00.000Z  2024-05-08T12:10:00.000Z  -',
      ].join('\n'),
    );
    expect(renderPendingApprovals([])).toBe('nothing waits for approval');
  });
});
