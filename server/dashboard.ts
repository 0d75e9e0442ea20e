import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { ENVIRONMENT_NAME_PATTERN, environmentWorkflowId } from '../common/names';
import { redactUrls } from '../common/redact';
import { parseListOrder, parseStatusFilter, statusRow, summaryOf, type EnvironmentStatus, type GitMain } from '../common/status';
import { TIMELINE_PAGE } from '../common/timeline';
import type { EnvironmentState } from '../common/types';
import { workflowUrl } from '../starter/client';
import { readTimeline, type RunFactsCache, type TimelineRead } from '../starter/timeline';
import { dashboardPage, DashboardView, DEFAULT_QUERY, renderDashboard, renderView, type DashboardQuery } from './render';
import { renderEnvironmentPage, renderEnvironmentView } from './render-environment';
import type { ServerSettings } from './settings';
import type { ReadOptions, StatusSnapshot } from './status-store';

/*
 * The pages: the dashboard (`GET /`, its view `GET /partials/environments`), an environment's page
 * (`GET /environments/:environment`, its view `GET /partials/environments/:environment`) and the
 * timeline as JSON (`GET /api/environments/:environment/deployments`). Lists come from the
 * server's status snapshot; an environment's page reads its state and histories afresh.
 */

/** What the pages need from the server. */
export interface DashboardDeps {
  client: Client;
  settings: ServerSettings;
  /** The server's status snapshot; pages take one of any age (they refresh themselves). */
  readStatus: (options?: ReadOptions) => Promise<StatusSnapshot>;
  /** How old a snapshot may be before a page asks for its first refresh at once. */
  maxAgeMs?: number;
  /** Does the request carry a valid API token (approve and reject then show)? */
  signedIn: (req: Request) => boolean;
  /** Closed runs' timeline facts, kept between requests. */
  runs: RunFactsCache;
}

/** A request the pages refuse with a 4xx status: the server's error handler answers `{ error }`. */
function refused(status: number, message: string): Error {
  return Object.assign(new Error(message), { status });
}

/** The page's CSP: the inline style and script carry the nonce; the search form submits to the server itself. */
function contentSecurityPolicy(nonce: string): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;
}

const dashboardOnly = z.object({
  view: z.enum([DashboardView.Cards, DashboardView.List], { message: 'cards or list' }).optional(),
  page: z.coerce.number({ message: 'a page number' }).int('a page number').min(1, 'a page number from 1').max(1_000_000).optional(),
});

/**
 * The dashboard's query from a request's query string: the filter and order of the status model,
 * the view and the page. What it does not take is said in `problems`, and left at its default.
 */
export function parseDashboardQuery(query: Record<string, unknown>): { query: DashboardQuery; problems: string[] } {
  const problems: string[] = [];
  const attempt = <T>(what: string, read: () => T, fallback: T): T => {
    try {
      return read();
    } catch (error) {
      problems.push(`invalid ${what}: ${(error as Error).message}`);
      return fallback;
    }
  };
  const filter = attempt('filter', () => parseStatusFilter(query), {});
  const order = attempt('order', () => parseListOrder(query), DEFAULT_QUERY.order);
  const rest = dashboardOnly.safeParse({ view: query.view, page: query.page });
  if (!rest.success) problems.push(`invalid view: ${rest.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const { view, page } = rest.success ? rest.data : {};
  return { query: { filter, order, view: view ?? DEFAULT_QUERY.view, page: page ?? 1 }, problems };
}

/** Timeline paging: `before` an ISO-8601 time (a page's `next`), `limit` from 1 to 100. */
const timelineQuery = z.object({
  before: z.iso.datetime({ offset: true, message: 'an ISO-8601 time, the `next` of a newer page' }).optional(),
  limit: z.coerce.number({ message: 'a number' }).int('a whole number').min(1, 'from 1 to 100').max(100, 'from 1 to 100').optional(),
});

function parseTimelineQuery(query: Record<string, unknown>): { before?: string; limit: number } {
  const parsed = timelineQuery.safeParse({ before: query.before, limit: query.limit });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw refused(400, `invalid query: ${issue.path.join('.')}: ${issue.message}`);
  }
  return { before: parsed.data.before, limit: parsed.data.limit ?? TIMELINE_PAGE };
}

function environmentParam(req: Request): string {
  const environment = String(req.params.environment);
  if (!ENVIRONMENT_NAME_PATTERN.test(environment)) throw refused(400, `"${environment.slice(0, 80)}" is not an environment name: letters, digits and hyphens, starting with a letter`);
  return environment;
}

/**
 * The environment's row drawn from the state the timeline just read (fresher than the snapshot's),
 * with git main's side as the snapshot had it.
 */
function freshRow(settings: ServerSettings, environment: string, listed: EnvironmentStatus | undefined, state: EnvironmentState | undefined): EnvironmentStatus | undefined {
  if (!state) return listed;
  const workflowId = environmentWorkflowId(environment);
  const git: GitMain | undefined =
    listed?.desiredSource === 'git'
      ? { commit: listed.desiredCommit ?? '', environments: new Map(listed.removedFromGit ? [] : [[environment, { appVersion: listed.desiredVersion, error: listed.desiredError }]]) }
      : undefined;
  return statusRow({ environment, url: workflowUrl(settings.temporal, workflowId), git, workflow: { workflowId, state, attributes: {} } });
}

/**
 * The dashboard's and the environment pages' routes, and the timeline's API route (mount it on
 * the API router as `GET /environments/:environment/deployments`).
 * @example const pages = dashboardRoutes(deps); app.use(pages.router); api.get('/environments/:environment/deployments', pages.deployments)
 */
export function dashboardRoutes(deps: DashboardDeps): { router: express.Router; deployments: (req: Request, res: Response) => Promise<void> } {
  const { settings } = deps;
  const router = express.Router();

  /**
   * Every row, and the warnings of the read; a Temporal that cannot be read is a warning on the page.
   * A page's first render never waits for a snapshot it has: it shows when it was read and refreshes itself.
   */
  const listedRows = async (): Promise<{ rows: EnvironmentStatus[]; warnings: string[]; at: number }> => {
    try {
      const status = await deps.readStatus({ staleLimitMs: Number.POSITIVE_INFINITY, evenAfterChange: true });
      return { rows: status.details.map(summaryOf), warnings: status.warnings, at: status.at };
    } catch (error) {
      return { rows: [], warnings: [redactUrls(`Cannot read the environments from Temporal: ${(error as Error).message}`)], at: Date.now() };
    }
  };

  router.get('/', async (req, res) => {
    const nonce = randomBytes(16).toString('base64');
    const { query, problems } = parseDashboardQuery(req.query as Record<string, unknown>);
    const { rows, warnings, at } = await listedRows();
    const notes = [...problems.map((p) => `${p}; ignored`), ...warnings];
    const now = Date.now();
    res
      .set('Content-Security-Policy', contentSecurityPolicy(nonce))
      .type('html')
      .send(
        renderDashboard({
          page: dashboardPage(rows, query),
          query,
          now,
          updatedAt: at,
          stale: now - at > (deps.maxAgeMs ?? 1_000),
          namespace: settings.temporal.namespace,
          uiUrl: settings.temporal.uiUrl,
          refreshSeconds: settings.refreshSeconds,
          warnings: notes,
          nonce,
        }),
      );
  });

  router.get('/partials/environments', async (req, res) => {
    const { query, problems } = parseDashboardQuery(req.query as Record<string, unknown>);
    if (problems.length) throw refused(400, problems.join('; '));
    const status = await deps.readStatus({ staleLimitMs: Number.POSITIVE_INFINITY });
    const page = dashboardPage(status.details.map(summaryOf), query);
    // Approve and reject show only to a valid token's holder; the API checks the token again on every decision.
    res.json({ html: renderView(page, query, { now: Date.now(), signedIn: deps.signedIn(req) }).text, warnings: status.warnings, updatedAt: new Date(status.at).toISOString() });
  });

  /** The environment's timeline page and its row, fresh. */
  const environmentModel = async (req: Request) => {
    const environment = environmentParam(req);
    const { before, limit } = parseTimelineQuery(req.query as Record<string, unknown>);
    const [listed, timeline] = await Promise.all([listedRows(), readTimeline({ client: deps.client, settings: settings.temporal, environment, before, limit, runs: deps.runs })]);
    const row = freshRow(settings, environment, listed.rows.find((r) => r.environment === environment), timeline.state);
    return { environment, before, row, timeline, warnings: [...listed.warnings, ...timeline.warnings], updatedAt: Date.now() };
  };

  router.get('/environments/:environment', async (req, res) => {
    const nonce = randomBytes(16).toString('base64');
    const model = await environmentModel(req);
    res
      .status(model.row || model.timeline.deployments.length ? 200 : 404)
      .set('Content-Security-Policy', contentSecurityPolicy(nonce))
      .type('html')
      .send(
        renderEnvironmentPage({
          ...model,
          now: Date.now(),
          signedIn: false,
          namespace: settings.temporal.namespace,
          uiUrl: settings.temporal.uiUrl,
          refreshSeconds: settings.refreshSeconds,
          nonce,
        }),
      );
  });

  router.get('/partials/environments/:environment', async (req, res) => {
    const model = await environmentModel(req);
    res.json({ html: renderEnvironmentView({ ...model, now: Date.now(), signedIn: deps.signedIn(req) }).text, warnings: model.warnings, updatedAt: new Date(model.updatedAt).toISOString() });
  });

  const deployments = async (req: Request, res: Response) => {
    const environment = environmentParam(req);
    const { before, limit } = parseTimelineQuery(req.query as Record<string, unknown>);
    const read: TimelineRead = await readTimeline({ client: deps.client, settings: settings.temporal, environment, before, limit, runs: deps.runs });
    if (!read.state && read.deployments.length === 0 && !before) throw refused(404, `no environment ${environment}: no workflow runs for it and its history holds no deployment`);
    const { state: _state, ...page } = read;
    res.json(page);
  };

  return { router, deployments };
}
