import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestAws, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { workerEnv } from '../support/scenario';
import { TEST_NAMESPACES } from '../support/namespaces';
import { uniqueTaskQueue } from '../support/temporal';
import { renderedText, startServerProcess, until, type ServerProcess } from '../server/harness';

const SCREENSHOT = path.resolve(__dirname, '..', '..', 'test-artifacts', 'dashboard.png');

/**
 * The dashboard in a real headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core): it shows every environment, refreshes itself, and approving prod from the
 * page deploys it.
 */
describe('dashboard', () => {
  const ALICE = 'alice-token-0123456789abcdef';
  let aws: TestAws;
  let worker: WorkerProcess;
  let server: ServerProcess;
  let repo: TestRepo;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  /** The visible text of one environment's card, or of one field on it. */
  const card = (environment: string) => renderedText(page.locator(`article[data-environment="${environment}"]`));
  const field = (environment: string, name: string) => renderedText(page.locator(`article[data-environment="${environment}"] [data-field="${name}"]`));

  beforeAll(async () => {
    [aws, repo] = await Promise.all([startTestAws(), createTestRepo()]);
    const env = workerEnv(aws, TEST_NAMESPACES.dashboard, uniqueTaskQueue('dashboard'), {
      TEMPORAL_UI_URL: 'http://ui.test',
      CFN_GITOPS_PROTECTED_ENVIRONMENTS: 'prod',
      CFN_GITOPS_API_TOKENS: `${ALICE}=Alice Approver`,
      CFN_GITOPS_DASHBOARD_REFRESH: '1',
    });
    [worker, server, browser] = await Promise.all([
      startWorkerProcess(env),
      startServerProcess(env),
      chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      }),
    ]);
    const started = await runCli(['start', '--repo', repo.dir, '--before', '0'.repeat(40), '--after', await repo.head(), '--json'], { env });
    expect(started.code).toBe(0);
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (message) => {
      // The refused token's 401 is expected; anything else (a CSP violation, a 404) is a defect.
      if (message.type() === 'error' && !/status of 401/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([worker?.stop(), server?.stop()]);
    await aws?.close();
    repo?.remove();
  });

  it('shows every environment, and prod waiting for approval', async () => {
    await page.goto(server.url);
    expect(await page.title()).toBe('cfn-gitops: environments');
    // The server may answer from the status it read as it started, before the push: the page refreshes itself.
    await page.locator('article.card').nth(2).waitFor();
    expect(await page.locator('article.card h2').allTextContents()).toEqual(['development', 'featureX', 'prod']);
    // The page refreshes itself until the deployments are done.
    await until(async () => [await field('development', 'sync'), await field('featureX', 'sync'), await field('prod', 'phase')], (v) => v.join() === 'In sync,In sync,WaitingForApproval', 'development and featureX in sync, prod waiting', 60_000);
    expect(await card('development')).toMatch(/^development In sync Deployed 1\.4\.2 Desired 1\.4\.2 Phase Idle Last result Succeeded \d+s ago Checked \d+s ago Temporal UI$/);
    expect(await card('prod')).toMatch(
      /^prod Out of sync Deployed - Desired 1\.4\.1 Phase WaitingForApproval Last result - Checked \d+s ago Waiting for approval: app none → 1\.4\.1, commit [0-9a-f]{7} Initial commit: the example GitOps repo by Dana Developer; expires in 6d Change set preview \(pipeline stack\): Add cfn-gitops-prod-pipeline: a new pipeline stack, whose pipeline then runs once by itself Approved so far: nobody yet\. Not by Dana Developer \(author\)\. Sign in with an API token to approve or reject\. Temporal UI$/,
    );
    expect(await page.locator('button[data-action]').count()).toBe(0);
    expect(await page.locator('article[data-environment="prod"] footer a').getAttribute('href')).toBe(`http://ui.test/namespaces/${TEST_NAMESPACES.dashboard}/workflows/cfn-gitops%2Fprod`);
    expect(await page.locator('article[data-environment="prod"] h2 a').getAttribute('href')).toBe('/environments/prod');
  });

  it('refuses a wrong token, signs in with a good one and approves prod from the page', async () => {
    await page.fill('#token', 'not-a-valid-token-at-all');
    await page.click('#sign-in button[type="submit"]');
    await page.locator('#notice', { hasText: 'That token was not accepted.' }).waitFor();
    expect(await page.locator('#sign-in').isVisible()).toBe(true);

    await page.fill('#token', ALICE);
    await page.click('#sign-in button[type="submit"]');
    await page.locator('#who', { hasText: 'Signed in as Alice Approver' }).waitFor();
    const approve = page.locator('article[data-environment="prod"] button[data-action="approve"]');
    await approve.waitFor();
    expect(await renderedText(approve)).toBe('Approve 1.4.1');
    expect(await page.locator('button[data-action]').count()).toBe(2);

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, '-approval.png'), fullPage: true });
    await approve.click();
    await page.locator('#notice', { hasText: 'prod: approved by Alice Approver' }).waitFor();
    await until(() => field('prod', 'sync'), (text) => text === 'In sync', 'prod in sync on the page', 60_000);
    expect(await card('prod')).toMatch(/^prod In sync Deployed 1\.4\.1 Desired 1\.4\.1 Phase Idle Last result Succeeded \d+s ago Checked \d+s ago Temporal UI$/);
    expect(await aws.appVersion('cfn-gitops-prod')).toBe('1.4.1');

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    // The token survives a reload (localStorage), and the page ran without a script or CSP error.
    await page.reload();
    await page.locator('#who', { hasText: 'Signed in as Alice Approver' }).waitFor();
    expect(problems).toEqual([]);
  });
});
