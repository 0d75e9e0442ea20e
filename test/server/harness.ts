/** The API server as it ships, for the integration tests: `cfn-gitops server` from the built CLI. */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { Locator } from 'playwright-core';
import { CLI } from '../support/cli';

/** A running `cfn-gitops server` process. */
export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `cfn-gitops server --port 0` on the loopback (`host: null`: with no `--host`, the
 * server's own default) and resolves with its URL once it listens.
 */
export async function startServerProcess(env: NodeJS.ProcessEnv, options: { host?: string | null } = {}): Promise<ServerProcess> {
  const host = options.host === undefined ? ['--host', '127.0.0.1'] : options.host === null ? [] : ['--host', options.host];
  const child = spawn(process.execPath, [CLI, 'server', '--port', '0', ...host], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let timer: NodeJS.Timeout | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening:\n${output}`)));
    timer = setTimeout(() => reject(new Error(`server not listening after 30 s:\n${output}`)), 30_000);
  }).finally(() => clearTimeout(timer));
  return {
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Workflow ids a visibility list query finds, sorted. */
export async function listIds(client: Client, query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const info of client.workflow.list({ query })) ids.push(info.workflowId);
  return ids.sort();
}

/** Executions a visibility list query finds, with their search attributes. */
export async function listInfos(client: Client, query: string): Promise<WorkflowExecutionInfo[]> {
  const infos: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query })) infos.push(info);
  return infos;
}

/** Polls `read` until `accept` holds for its value, and returns it; throws with the last value after `timeoutMs`. */
export async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`not true after ${timeoutMs} ms: ${what}; last seen: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * An element's visible text in the browser, whitespace folded. The dashboard's cards are
 * `content-visibility: auto`: a card its refresh has just redrawn reads as "" until Chromium's
 * next frame lays it out, so an empty text is read again.
 */
export function renderedText(locator: Locator): Promise<string> {
  return until(async () => (await locator.innerText()).replace(/\s+/g, ' ').trim(), (text) => text !== '', 'the element drawn', 5_000);
}
