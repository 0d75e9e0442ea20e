import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { cloudFormationTarget, handleCloudFormation, isCloudFormationAction } from './cloudformation/api';
import { codePipelineTarget, handleCodePipeline } from './codepipeline/api';
import { handleControl } from './control';
import type { Emulator } from './emulator';
import { AwsError, type ServiceName } from './errors';
import { parseQuery, type QueryObject } from './query';
import { uuid } from './random';
import { s3ErrorResponse } from './s3';
import { escapeXml, writeXml } from './xml';

/**
 * The HTTP front door. One endpoint serves every service; a request is dispatched by its shape:
 * `/_emulator/*` → control API; `X-Amz-Target: CodePipeline_20150709.*` → CodePipeline (JSON 1.1);
 * a form body (or query) with `Action=` → CloudFormation (query protocol); anything else → S3.
 */

const CFN_NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const CP_PREFIX = 'CodePipeline_20150709.';

/** When a request arrived: wall clock for the log, monotonic clock for its duration. */
interface Started {
  at: number;
  t0: number;
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The region a request is signed for (SigV4 credential scope), if any. */
export function requestRegion(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  const credential =
    (typeof auth === 'string' ? /Credential=([^,\s]+)/.exec(auth)?.[1] : undefined) ?? url.searchParams.get('X-Amz-Credential') ?? undefined;
  if (!credential) return undefined;
  const parts = credential.split('/');
  return parts.length >= 5 ? parts[parts.length - 3] : undefined;
}

function cfnError(error: AwsError, requestId: string): Reply {
  const body =
    `<ErrorResponse xmlns="${CFN_NS}"><Error><Type>${error.faultType}</Type><Code>${escapeXml(error.code)}</Code>` +
    `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  return { status: error.status, headers: { 'Content-Type': 'text/xml' }, body };
}

function jsonError(error: AwsError): Reply {
  return {
    status: error.status,
    headers: { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-ErrorType': error.code },
    body: JSON.stringify({ __type: error.code, message: error.message }),
  };
}

/** Serves the emulator over HTTP. */
export class EmulatorServer {
  readonly server: Server;

  constructor(private readonly emulator: Emulator) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.emulator.settings.log('error', 'request failed', { error: String((error as Error)?.stack ?? error) });
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end('internal emulator error');
        } else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 65_000;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started: Started = { at: Date.now(), t0: performance.now() };
    const requestId = uuid();
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    if (url.pathname === '/_emulator' || url.pathname.startsWith('/_emulator/')) {
      this.send(res, this.control(method, url, body), requestId, 'x-amzn-RequestId');
      return;
    }
    const region = requestRegion(req, url);
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string' && target.startsWith(CP_PREFIX)) {
      await this.codePipeline(res, target.slice(CP_PREFIX.length), body, requestId, started, region);
      return;
    }
    const contentType = String(req.headers['content-type'] ?? '');
    if (method === 'POST' && contentType.startsWith('application/x-www-form-urlencoded')) {
      const q = parseQuery(body.toString('utf8'));
      if (typeof q.Action === 'string') {
        await this.cloudFormation(res, q.Action, q, requestId, started, region);
        return;
      }
    }
    if ((method === 'GET' || method === 'POST') && url.searchParams.has('Action') && isCloudFormationAction(url.searchParams.get('Action') ?? '')) {
      const q = parseQuery(url.search.slice(1));
      await this.cloudFormation(res, q.Action as string, q, requestId, started, region);
      return;
    }
    await this.s3(req, res, method, url, body, requestId, started);
  }

  private control(method: string, url: URL, raw: Buffer): Reply {
    try {
      let body: unknown = undefined;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new AwsError('BadRequest', 'body is not valid JSON', 400);
        }
      }
      const out = handleControl(this.emulator, method, url, body);
      return { status: out.status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(out.body) };
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      return { status: error.status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ error: error.code, message: error.message }) };
    }
  }

  /** Applies injected latency; returns the injected error (to throw before or after the call), if any. */
  private async faults(service: ServiceName, operation: string): Promise<{ before?: AwsError; after?: AwsError }> {
    const decision = this.emulator.faults.decide(service, operation);
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    if (!decision.error) return {};
    return decision.after ? { after: decision.error } : { before: decision.error };
  }

  private async cloudFormation(res: ServerResponse, action: string, q: QueryObject, requestId: string, started: Started, region?: string): Promise<void> {
    const target = cloudFormationTarget(q);
    let reply: Reply;
    let errorCode: string | undefined;
    const injected = await this.faults('cloudformation', action);
    try {
      if (injected.before) throw injected.before;
      const r = this.emulator.region(region);
      const result = handleCloudFormation({ engine: r.cfn, changeSets: r.changeSets, drift: r.drift }, action, q);
      if (injected.after) throw injected.after;
      const out: string[] = ['<', action, 'Response xmlns="', CFN_NS, '">'];
      if (result !== undefined) {
        out.push('<', action, 'Result>');
        writeXml(out, result);
        out.push('</', action, 'Result>');
      }
      out.push('<ResponseMetadata><RequestId>', requestId, '</RequestId></ResponseMetadata></', action, 'Response>');
      reply = { status: 200, headers: { 'Content-Type': 'text/xml' }, body: out.join('') };
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      errorCode = error.code;
      reply = cfnError(error, requestId);
    }
    this.record('cloudformation', action, target, reply.status, errorCode, requestId, started);
    this.send(res, reply, requestId, 'x-amzn-RequestId');
  }

  private async codePipeline(res: ServerResponse, operation: string, raw: Buffer, requestId: string, started: Started, region?: string): Promise<void> {
    let reply: Reply;
    let errorCode: string | undefined;
    let target: string | undefined;
    try {
      let body: Record<string, unknown>;
      try {
        const parsed: unknown = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : {};
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        body = parsed as Record<string, unknown>;
      } catch {
        throw new AwsError('SerializationException', 'Start of structure or map found where not expected.', 400);
      }
      target = codePipelineTarget(body);
      const injected = await this.faults('codepipeline', operation);
      if (injected.before) throw injected.before;
      const result = handleCodePipeline(this.emulator.region(region).pipelines, operation, body, `arn:aws:iam::${this.emulator.settings.accountId}:root`);
      if (injected.after) throw injected.after;
      reply = { status: 200, headers: { 'Content-Type': 'application/x-amz-json-1.1' }, body: JSON.stringify(result) };
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      errorCode = error.code;
      reply = jsonError(error);
    }
    this.record('codepipeline', operation, target, reply.status, errorCode, requestId, started);
    this.send(res, reply, requestId, 'x-amzn-RequestId');
  }

  private async s3(req: IncomingMessage, res: ServerResponse, method: string, url: URL, body: Buffer, requestId: string, started: Started): Promise<void> {
    let reply: Reply;
    let errorCode: string | undefined;
    let operation = `${method} ${url.pathname}`;
    let target: string | undefined;
    try {
      const injected = await this.faults('s3', s3Operation(method, url));
      if (injected.before) throw injected.before;
      const out = this.emulator.s3.handle(method, url, req.headers, body);
      if (injected.after) throw injected.after;
      operation = out.operation;
      target = out.target;
      reply = { status: out.status, headers: out.headers, body: out.body ?? '' };
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      errorCode = error.code;
      operation = s3Operation(method, url);
      target = decodeURIComponent(url.pathname.slice(1)) || undefined;
      reply = s3ErrorResponse(error, requestId, method);
    }
    this.record('s3', operation, target, reply.status, errorCode, requestId, started);
    reply.headers['x-amz-id-2'] = requestId;
    if (method === 'HEAD') {
      res.writeHead(reply.status, { ...reply.headers, 'x-amz-request-id': requestId });
      res.end();
      return;
    }
    this.send(res, reply, requestId, 'x-amz-request-id');
  }

  private record(service: ServiceName, operation: string, target: string | undefined, status: number, errorCode: string | undefined, requestId: string, started: Started): void {
    this.emulator.journal.call({
      time: new Date(started.at).toISOString(),
      service,
      operation,
      target,
      status,
      errorCode,
      requestId,
      durationMs: Math.round((performance.now() - started.t0) * 100) / 100,
    });
  }

  private send(res: ServerResponse, reply: Reply, requestId: string, idHeader: string): void {
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
    const headers: Record<string, string> = { ...reply.headers, [idHeader]: requestId };
    if (!('Content-Length' in headers)) headers['Content-Length'] = String(body.length);
    res.writeHead(reply.status, headers);
    res.end(body);
  }
}

/** The S3 operation name of a request, for faults and the call log before it is handled. */
function s3Operation(method: string, url: URL): string {
  const path = url.pathname.slice(1);
  const slash = path.indexOf('/');
  const hasKey = slash >= 0 && slash < path.length - 1;
  if (!path) return method === 'GET' ? 'ListBuckets' : method;
  if (!hasKey) {
    switch (method) {
      case 'PUT':
        return 'CreateBucket';
      case 'HEAD':
        return 'HeadBucket';
      case 'DELETE':
        return 'DeleteBucket';
      case 'POST':
        return 'DeleteObjects';
      default:
        return url.searchParams.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    }
  }
  switch (method) {
    case 'PUT':
      return 'PutObject';
    case 'HEAD':
      return 'HeadObject';
    case 'DELETE':
      return 'DeleteObject';
    default:
      return 'GetObject';
  }
}
