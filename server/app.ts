import { createHash, timingSafeEqual } from 'node:crypto';
import type { Client } from '@temporalio/client';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { GitReadError } from '../common/errors';
import { environmentNameProblem } from '../common/names';
import { redactUrls } from '../common/redact';
import { explainZodError } from '../common/temporal-settings';
import { workflowUrl } from '../starter/client';
import { approve, cancel, DecisionRefusedError, reject } from '../starter/decide';
import { startPush } from '../starter/start';
import { countRows, filterRows, parseStatusFilter, summaryOf, unansweredNote, type EnvironmentDetail, type StatusFilter } from '../common/status';
import { collectDetails, createStateCache } from '../starter/status';
import { createRunFactsCache } from '../starter/timeline';
import { createDoraReader } from '../starter/dora';
import { parseDoraWindow } from '../common/dora';
import type { GitReader } from '../starter/git';
import type { GitFetcher } from './git-fetcher';
import { createProcessMetrics, renderMetrics } from './metrics';
import { dashboardRoutes } from './dashboard';
import type { ServerSettings } from './settings';
import { createStatusStore, type ReadOptions } from './status-store';
import { DeliveryLog, pushEventSchema, verifySignature } from './webhook';

/** Where the server writes what happened: pino's logger fits, tests pass a fake or nothing. */
export interface ServerLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** What {@link createApp} needs. */
export interface ServerDeps {
  /** Temporal client, connected to the settings' namespace. */
  client: Client;
  settings: ServerSettings;
  /** The GitOps repo's cache clone; absent without CFN_GITOPS_REPO (webhooks then answer 503). */
  git?: GitFetcher;
  log?: ServerLog;
  /**
   * How old the shared status may be before a request has it read again behind the answer
   * (default 1000 ms): many open dashboards cost one read, and none waits for it. 0: every
   * request waits for a read of its own.
   */
  statusCacheMs?: number;
  /** Read the status once as the app is made, so that the first page does not wait for it (the server does; tests need not). */
  warmStatus?: boolean;
}

/** A request the server refuses with a 4xx status and a message that says what is wrong. */
class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

const quiet: ServerLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Body of approve and reject. */
const decisionBody = z.object({ version: z.string().min(1).max(200).optional(), comment: z.string().max(2000).optional() }).strict();
/** Body of cancel. */
const cancelBody = z.object({ comment: z.string().max(2000).optional() }).strict();

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new HttpError(400, `invalid body: ${explainZodError(parsed.error) || 'expected a JSON object'}`);
  return parsed.data;
}

function environmentParam(req: Request): string {
  const environment = String(req.params.environment);
  // A long name is cut before it is echoed; past 64 characters it is no name anyway.
  const problem = environmentNameProblem(environment.length > 80 ? `${environment.slice(0, 80)}…` : environment);
  if (problem) throw new HttpError(400, problem);
  return environment;
}

/** The person a bearer token stands for; every token is compared, in constant time. */
function personFor(tokens: Map<string, string>, header: string | undefined): string {
  const challenge = { 'WWW-Authenticate': 'Bearer realm="cfn-gitops"' };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) throw new HttpError(401, 'missing Authorization: Bearer <token>', challenge);
  const given = createHash('sha256').update(match[1]!).digest();
  let person: string | undefined;
  for (const [token, name] of tokens) {
    if (timingSafeEqual(given, createHash('sha256').update(token).digest())) person = name;
  }
  if (!person) throw new HttpError(401, 'the token is not accepted', { ...challenge, 'WWW-Authenticate': 'Bearer realm="cfn-gitops", error="invalid_token"' });
  return person;
}

/** The person a bearer token stands for, or undefined without a valid one (pages that only show more to people signed in). */
function personOrNobody(tokens: Map<string, string>, header: string | undefined): string | undefined {
  try {
    return personFor(tokens, header);
  } catch {
    return undefined;
  }
}

/** The status filter of a request's query string. @throws HttpError 400 naming the parameter and the values it takes. */
function filterParam(req: Request): StatusFilter {
  try {
    return parseStatusFilter(req.query as Record<string, unknown>);
  } catch (error) {
    throw new HttpError(400, `invalid filter: ${(error as Error).message}`);
  }
}

/**
 * The API server: dashboard, status API, approvals and the GitHub webhook receiver.
 * Routes: the dashboard `GET /` and its view `GET /partials/environments` (both take the filter of
 * `GET /api/environments`, and `sort`, `order`, `view`, `page`), an environment's page
 * `GET /environments/:environment` and its view (server/dashboard.ts), `GET /healthz`, `GET /metrics`, `GET /api/me`,
 * `GET /api/environments?syncStatus=&phase=&q=` (each optional; statuses and phases as a comma
 * list or repeated, any of them matches; `q`, part of the name without regard to case),
 * `GET /api/environments/:environment`, `GET /api/environments/:environment/deployments?before=&limit=`
 * (its timeline, most recent first), `POST /api/environments/:environment/{approve,reject,cancel}`,
 * `GET /api/dora?since=30d` (the four DORA figures; `since` a duration back from now or an ISO-8601 time),
 * `POST /webhooks/github`. Errors are JSON `{ error }` with a 4xx status saying what is wrong.
 * @example createApp({ client, settings: readServerSettings(), git: createGitFetcher({ repo }) }).listen(3000)
 */
export function createApp(deps: ServerDeps): express.Express {
  const { client, settings } = deps;
  const log = deps.log ?? quiet;
  const deliveries = new DeliveryLog(1_000);
  const link = (workflowId: string) => workflowUrl(settings.temporal, workflowId);
  const processMetrics = createProcessMetrics();
  // Remembers each deployment's commit date between requests: a closed workflow's input never changes.
  const dora = createDoraReader(client);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // States read before are kept while a workflow's search attributes stay the same: a read of 2,000 idle environments queries none.
  const states = createStateCache();
  /** Every environment's status; git main gives the desired versions when the repo can be read. */
  function loadStatus(): Promise<{ details: EnvironmentDetail[]; warnings: string[] }> {
    return (async () => {
      const warnings: string[] = [];
      let git: GitReader | undefined;
      if (deps.git) {
        try {
          git = await deps.git.current();
        } catch (error) {
          warnings.push(`desired versions are what the workflows last received: ${(error as Error).message}`);
        }
      }
      let details: EnvironmentDetail[];
      try {
        details = await collectDetails({ client, settings: settings.temporal, git, states });
      } catch (error) {
        if (!(error instanceof GitReadError) || !git) throw error;
        warnings.push(`desired versions are what the workflows last received: ${error.message}`);
        details = await collectDetails({ client, settings: settings.temporal, states });
      }
      const note = unansweredNote(details);
      if (note) warnings.push(note);
      return { details, warnings: warnings.map(redactUrls) };
    })();
  }
  const status = createStatusStore({
    load: loadStatus,
    maxAgeMs: deps.statusCacheMs ?? 1_000,
    // The API and the metrics answer from a snapshot at most this old (reading again behind it); pages take any, show its time and refresh themselves.
    staleLimitMs: Math.max(5_000, settings.refreshSeconds * 2_000),
    onError: (error) => log.warn({ error: redactUrls((error as Error).message) }, 'status read failed'),
  });
  const readStatus = (options?: ReadOptions) => status.read(options);
  if (deps.warmStatus) readStatus().catch((error: unknown) => log.warn({ error: redactUrls((error as Error).message) }, 'first status read failed'));
  const pages = dashboardRoutes({ client, settings, readStatus, maxAgeMs: deps.statusCacheMs ?? 1_000, runs: createRunFactsCache(), signedIn: (req) => personOrNobody(settings.apiTokens, req.get('authorization')) !== undefined });

  app.use((_req, res, next) => {
    res.set({ 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store' });
    // CFN_GITOPS_REPO may carry a token and git errors quote it: no answer or page shows a URL's user info.
    const send = res.send.bind(res);
    res.send = (body?: unknown) => send(typeof body === 'string' ? redactUrls(body) : body);
    next();
  });

  app.get('/healthz', async (_req, res) => {
    try {
      await client.connection.withDeadline(Date.now() + 5_000, () => client.workflowService.describeNamespace({ namespace: settings.temporal.namespace }));
      res.json({ status: 'ok', temporal: { address: settings.temporal.address, namespace: settings.temporal.namespace } });
    } catch (error) {
      res.status(503).json({ status: 'unavailable', error: `Temporal at ${settings.temporal.address}, namespace ${settings.temporal.namespace}: ${(error as Error).message}` });
    }
  });

  app.get('/metrics', async (_req, res) => {
    const { details } = await readStatus();
    res.type('text/plain; version=0.0.4; charset=utf-8').send(await renderMetrics(details, processMetrics));
  });

  app.use(pages.router);

  const api = express.Router();
  api.use(express.json({ limit: '64kb' }));

  api.get('/me', (req, res) => {
    res.json({ name: personFor(settings.apiTokens, req.get('authorization')) });
  });

  api.get('/dora', async (req, res) => {
    let span: ReturnType<typeof parseDoraWindow>;
    try {
      span = parseDoraWindow(req.query.since, new Date());
    } catch (error) {
      throw new HttpError(400, (error as Error).message);
    }
    res.json(await dora.read(span));
  });

  api.get('/environments', async (req, res) => {
    const filter = filterParam(req);
    const { details, warnings } = await readStatus();
    const all = details.map(summaryOf);
    // Counts are of every environment, so that a view filtered to one status still shows the others'.
    res.json({ environments: filterRows(all, filter), total: all.length, counts: countRows(all), warnings, generatedAt: new Date().toISOString() });
  });

  api.get('/environments/:environment', async (req, res) => {
    const environment = environmentParam(req);
    const { details, warnings } = await readStatus();
    const detail = details.find((d) => d.environment === environment);
    if (!detail) throw new HttpError(404, `no environment ${environment}: no workflow runs for it${deps.git ? ' and main has no such folder' : ''}`);
    res.json({ ...detail, warnings });
  });

  api.get('/environments/:environment/deployments', pages.deployments);

  api.post('/environments/:environment/:decision', async (req, res) => {
    const environment = environmentParam(req);
    const decision = String(req.params.decision);
    if (decision !== 'approve' && decision !== 'reject' && decision !== 'cancel') {
      throw new HttpError(404, `no route POST ${req.originalUrl}: the decisions are approve, reject and cancel`);
    }
    const by = personFor(settings.apiTokens, req.get('authorization'));
    if (!req.is('application/json') && req.body === undefined && Number(req.get('content-length') ?? 0) > 0) {
      throw new HttpError(415, 'send the body as application/json');
    }
    try {
      const result =
        decision === 'cancel'
          ? await cancel(client, environment, { by, reason: parseBody(cancelBody, req.body).comment })
          : await (decision === 'approve' ? approve : reject)(client, environment, { by, ...parseBody(decisionBody, req.body) });
      log.info({ environment, decision, by }, 'decision taken');
      status.invalidate();
      res.json({ ...result, by });
    } catch (error) {
      if (!(error instanceof DecisionRefusedError)) throw error;
      const missing = (error.cause as { name?: string } | undefined)?.name === 'WorkflowNotFoundError';
      log.info({ environment, decision, by, reason: error.reason }, 'decision refused');
      res.status(missing ? 404 : 409).json({ environment, accepted: false, error: error.reason });
    }
  });

  api.use((req) => {
    throw new HttpError(404, `no route ${req.method} ${req.originalUrl}`);
  });
  app.use('/api', api);

  const maxBytes = settings.webhookMaxBytes;
  const tooLarge = (declared?: number) =>
    new HttpError(413, `the body${declared ? ` (${declared} bytes)` : ''} is over the webhook's limit of ${maxBytes} bytes (${(maxBytes / 1024 / 1024).toFixed(1)} MiB): CFN_GITOPS_WEBHOOK_MAX_BYTES sets it`);
  const readRaw = express.raw({ type: () => true, limit: maxBytes });
  /**
   * Reads the body only for a request that could be GitHub's: secret set, signature header
   * present, size within the limit. Others are answered from their head alone; Node then
   * discards what they still send (never buffered), so the client can read its answer.
   */
  const readWebhookBody = (req: Request, res: Response, next: NextFunction) => {
    if (!settings.webhookSecret) throw new HttpError(503, 'GITHUB_WEBHOOK_SECRET is not set: the server cannot verify webhooks');
    if (!req.get('x-hub-signature-256')) throw new HttpError(401, 'missing X-Hub-Signature-256');
    const declared = Number(req.get('content-length'));
    if (declared > maxBytes) throw tooLarge(declared);
    readRaw(req, res, (error?: unknown) => next((error as { type?: string } | undefined)?.type === 'entity.too.large' ? tooLarge() : error));
  };

  app.post('/webhooks/github', readWebhookBody, async (req, res) => {
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!verifySignature(settings.webhookSecret!, body, req.get('x-hub-signature-256'))) throw new HttpError(401, 'X-Hub-Signature-256 does not match the body');
    const delivery = req.get('x-github-delivery');
    if (!delivery || delivery.length > 200) throw new HttpError(400, 'missing X-GitHub-Delivery');
    if (!deliveries.claim(delivery)) {
      res.status(200).json({ status: 'duplicate delivery', delivery });
      return;
    }
    try {
      const event = req.get('x-github-event') ?? '';
      if (event === 'ping') {
        res.status(200).json({ status: 'pong', delivery });
      } else if (event !== 'push') {
        res.status(202).json({ status: 'ignored', delivery, reason: `event "${event}" is not a push` });
      } else {
        let payload: unknown;
        try {
          payload = JSON.parse(body.toString('utf8'));
        } catch {
          throw new HttpError(400, 'the body is not JSON (set the webhook content type to application/json)');
        }
        const parsed = pushEventSchema.safeParse(payload);
        if (!parsed.success) throw new HttpError(400, `not a push event: ${explainZodError(parsed.error)}`);
        const push = parsed.data;
        const wanted = `refs/heads/${settings.branch}`;
        if (push.ref !== wanted) {
          res.status(202).json({ status: 'ignored', delivery, reason: `push to ${push.ref}, not to ${wanted}` });
        } else if (push.deleted || /^0+$/.test(push.after)) {
          res.status(202).json({ status: 'ignored', delivery, reason: `${wanted} was deleted` });
        } else {
          if (!deps.git) throw new HttpError(503, 'CFN_GITOPS_REPO is not set: the server has no repository to fetch');
          const git = await deps.git.fetch();
          if (!(await git.resolve(push.after))) {
            const from = push.repository?.full_name ? ` (the webhook comes from ${push.repository.full_name})` : '';
            throw new HttpError(
              422,
              `commit ${push.after} is not in ${settings.repo ?? 'the repository'}, even after fetching it: is CFN_GITOPS_REPO the repository this webhook comes from${from}?`,
            );
          }
          const { report } = await startPush({
            client,
            git,
            taskQueue: settings.temporal.taskQueue,
            push: { before: push.before, after: push.after },
            branch: settings.branch,
            // The pusher may not approve what they pushed.
            pushedBy: push.pusher?.name ?? push.sender?.login,
          });
          const failed = report.environments.filter((e) => e.status === 'error');
          log.info({ delivery, before: push.before, after: push.after, environments: report.environments.map((e) => `${e.environment}:${e.status}`) }, 'push handled');
          status.invalidate();
          const answer = { status: failed.length ? 'partly failed' : 'started', delivery, report: { ...report, environments: report.environments.map((e) => ({ ...e, url: link(e.workflowId) })) } };
          if (failed.length) {
            // Let GitHub's redelivery try again: the environments already taken answer "duplicate".
            deliveries.release(delivery);
            res.status(500).json({ ...answer, error: failed.map((e) => e.error).join('; ') });
            return;
          }
          res.status(202).json(answer);
        }
      }
      deliveries.done(delivery);
    } catch (error) {
      deliveries.release(delivery);
      if (error instanceof GitReadError) throw new HttpError(502, error.message);
      throw error;
    }
  });

  app.use((req: Request) => {
    throw new HttpError(404, `no route ${req.method} ${req.path}`);
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof HttpError) {
      // 502 and 503 are the server's own trouble (git, settings): its operators read the log.
      if (error.status >= 500) log.warn({ method: req.method, path: req.path, status: error.status, error: redactUrls(error.message) }, 'request refused');
      res.status(error.status).set(error.headers).json({ error: redactUrls(error.message) });
      return;
    }
    const status = (error as { status?: number; type?: string }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // body-parser: malformed JSON, too large, bad charset.
      const type = (error as { type?: string }).type;
      const message = type === 'entity.parse.failed' ? 'the body is not valid JSON' : type === 'entity.too.large' ? 'the body is too large' : (error as Error).message;
      res.status(status).json({ error: message });
      return;
    }
    const message = redactUrls((error as Error)?.message ?? String(error));
    log.error({ method: req.method, path: req.path, error: message }, 'request failed');
    res.status(500).json({ error: message });
  });
  return app;
}
