import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { signBody } from '../../server/webhook';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { startServerProcess, type ServerProcess } from './harness';

/**
 * What the API server as it ships (`cfn-gitops server`) gives away and takes in: no repo
 * credentials in any answer, page or log line; no webhook body read before its signature
 * header, none over the limit; the loopback unless told otherwise; an unknown pushed commit
 * named as such.
 */
const WEBHOOK_SECRET = 'trust-webhook-secret';
const CREDENTIAL = 'ghs_SECRETtoken0123456789';
const zeros = '0'.repeat(40);

/** A signed push event for `after`, as GitHub sends it. */
function pushBody(after: string): string {
  return JSON.stringify({ ref: 'refs/heads/main', before: zeros, after, repository: { full_name: 'acme/gitops' } });
}

function postWebhook(server: ServerProcess, delivery: string, body: string): Promise<{ status: number; text: string }> {
  return fetch(`${server.url}/webhooks/github`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': delivery, 'x-hub-signature-256': signBody(WEBHOOK_SECRET, body) },
    body,
  }).then(async (r) => ({ status: r.status, text: await r.text() }));
}

/**
 * Sends only a request's head (no body, though `Content-Length` promises one) and resolves with
 * the answer's status line and headers: an answer proves the server did not wait for the body.
 */
function headOnly(server: ServerProcess, headers: Record<string, string>): Promise<string> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let received = '';
    // A guard, not a measure: a server that waits for the body never answers.
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer after the request head: the server waits for the body'));
    }, 20_000);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end >= 0) {
        clearTimeout(guard);
        socket.destroy();
        resolve(received.slice(0, end));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(guard);
      reject(error);
    });
    const head = Object.entries({ host: url.host, ...headers }).map(([name, value]) => `${name}: ${value}\r\n`).join('');
    socket.write(`POST /webhooks/github HTTP/1.1\r\n${head}\r\n`);
  });
}

/** Posts `size` bytes in chunked encoding (no Content-Length), signed, and resolves with the answer. */
function postChunked(server: ServerProcess, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}/webhooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'x-github-event': 'push', 'x-github-delivery': 'chunked-1', 'x-hub-signature-256': signBody(WEBHOOK_SECRET, body) },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (let offset = 0; offset < body.length; offset += 64 * 1024) req.write(body.subarray(offset, offset + 64 * 1024));
    req.end();
  });
}

describe('API server: repo credentials stay out of every answer and log line', () => {
  let server: ServerProcess;
  let cache: string;
  // An unreachable address (closed port): every fetch fails and says so.
  const repoUrl = `https://x-access-token:${CREDENTIAL}@127.0.0.1:1/acme/gitops.git`;

  beforeAll(async () => {
    cache = mkdtempSync(path.join(tmpdir(), 'cfn-gitops-trust-'));
    server = await startServerProcess({
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: 'default',
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      CFN_GITOPS_REPO: repoUrl,
      CFN_GITOPS_REPO_CACHE: path.join(cache, 'clone'),
    });
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(cache, { recursive: true, force: true });
  });

  it('the dashboard, the status API and a webhook answer say the fetch failed without the credential', async () => {
    const page = await (await fetch(`${server.url}/`)).text();
    const status = await fetch(`${server.url}/api/environments`);
    const statusText = await status.text();
    const webhook = await postWebhook(server, 'trust-1', pushBody('a'.repeat(40)));

    for (const answer of [page, statusText, webhook.text]) expect(answer).not.toContain(CREDENTIAL);
    // Each answer does name the failing repo, so the check above is about the credential alone.
    expect(page).toContain('***@127.0.0.1:1/acme/gitops.git');
    expect(status.status).toBe(200);
    expect(JSON.parse(statusText).warnings.join(' ')).toContain('https://***@127.0.0.1:1/acme/gitops.git');
    expect(webhook.status).toBe(502);
    expect(JSON.parse(webhook.text).error).toContain('https://***@127.0.0.1:1/acme/gitops.git');
  });

  it('the server output names the repo without the credential, to the end', async () => {
    await postWebhook(server, 'trust-2', pushBody('b'.repeat(40)));
    await server.stop();
    expect(server.output()).toContain('***@127.0.0.1:1');
    expect(server.output()).not.toContain(CREDENTIAL);
  });
});

describe('API server: listening address, webhook body and unknown commits', () => {
  let server: ServerProcess;
  let repo: TestRepo;
  let cache: string;

  beforeAll(async () => {
    repo = await createTestRepo();
    cache = mkdtempSync(path.join(tmpdir(), 'cfn-gitops-trust-'));
    server = await startServerProcess(
      {
        TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
        TEMPORAL_NAMESPACE: 'default',
        GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
        CFN_GITOPS_REPO: repo.dir,
        CFN_GITOPS_REPO_CACHE: path.join(cache, 'clone'),
      },
      { host: null },
    );
  });

  afterAll(async () => {
    await server?.stop();
    repo?.remove();
    rmSync(cache, { recursive: true, force: true });
  });

  it('without --host the server listens on the loopback only, and says so', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.output()).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
  });

  it('CFN_GITOPS_HOST=0.0.0.0 opens every interface, and the listening line says 0.0.0.0', async () => {
    const open = await startServerProcess({ TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE: 'default', CFN_GITOPS_HOST: '0.0.0.0' }, { host: null });
    try {
      expect(open.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
      expect((await fetch(`http://127.0.0.1:${new URL(open.url).port}/healthz`)).status).toBe(200);
    } finally {
      await open.stop();
    }
  });

  it('an unsigned webhook is refused after its head, before any of its 24 MB body is read', async () => {
    const head = await headOnly(server, { 'content-type': 'application/json', 'content-length': String(24 * 1024 * 1024), 'x-github-event': 'push', 'x-github-delivery': 'unsigned-1' });
    expect(head).toMatch(/^HTTP\/1\.1 401 /);
  });

  it('a signed webhook announcing 6 MB is refused with 413 naming the limit, before its body is read', async () => {
    const body = Buffer.alloc(6 * 1024 * 1024, 'x');
    const head = await headOnly(server, {
      'content-type': 'application/json',
      'content-length': String(body.length),
      'x-github-event': 'push',
      'x-github-delivery': 'big-1',
      'x-hub-signature-256': signBody(WEBHOOK_SECRET, body),
    });
    expect(head).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('a signed 6 MB webhook sent without a length is cut at the limit: 413 naming it and its setting', async () => {
    const answer = await postChunked(server, Buffer.alloc(6 * 1024 * 1024, 'x'));
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.text).error).toMatch(/5242880 bytes.*CFN_GITOPS_WEBHOOK_MAX_BYTES/);
  });

  it('a push whose commit is not in the repo is 422 naming the commit and the setting to check', async () => {
    const missing = 'c0ffee'.padEnd(40, '0');
    const answer = await postWebhook(server, 'unknown-1', pushBody(missing));
    expect(answer.status).toBe(422);
    const error = JSON.parse(answer.text).error as string;
    expect(error).toContain(missing);
    expect(error).toContain('CFN_GITOPS_REPO');
    expect(error).toContain('acme/gitops');
    expect(error).not.toContain('not a git repository');
  });

});
