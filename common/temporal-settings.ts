import { z } from 'zod';
import { DEFAULT_TASK_QUEUE } from './names';

/** Connection to Temporal, shared by the worker, the CLI and the server. */
export interface TemporalSettings {
  /** host:port of the frontend (TEMPORAL_ADDRESS, default 127.0.0.1:7233). */
  address: string;
  /** TEMPORAL_NAMESPACE, default `default`. */
  namespace: string;
  /** CFN_GITOPS_TASK_QUEUE, default `cfn-gitops`. */
  taskQueue: string;
  /** TEMPORAL_API_KEY for Temporal Cloud; implies TLS. */
  apiKey?: string;
  /** TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: paths of a client certificate for mTLS. */
  tlsCertPath?: string;
  tlsKeyPath?: string;
  /** TEMPORAL_UI_URL, for links: default http://localhost:8233. */
  uiUrl: string;
}

const temporalSchema = z.object({
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  CFN_GITOPS_TASK_QUEUE: z.string().default(DEFAULT_TASK_QUEUE),
  TEMPORAL_API_KEY: z.string().optional(),
  TEMPORAL_TLS_CERT: z.string().optional(),
  TEMPORAL_TLS_KEY: z.string().optional(),
  TEMPORAL_UI_URL: z.string().default('http://localhost:8233'),
});

/** One readable line per invalid variable. */
export function explainZodError(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
}

/**
 * Temporal connection settings from environment variables.
 * @throws Error naming each invalid variable.
 */
export function readTemporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const parsed = temporalSchema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid settings: ${explainZodError(parsed.error)}`);
  const t = parsed.data;
  return {
    address: t.TEMPORAL_ADDRESS,
    namespace: t.TEMPORAL_NAMESPACE,
    taskQueue: t.CFN_GITOPS_TASK_QUEUE,
    apiKey: t.TEMPORAL_API_KEY,
    tlsCertPath: t.TEMPORAL_TLS_CERT,
    tlsKeyPath: t.TEMPORAL_TLS_KEY,
    uiUrl: t.TEMPORAL_UI_URL.replace(/\/$/, ''),
  };
}


export interface TemporalConnectionOptions {
  address: string;
  apiKey?: string;
  tls?: boolean | { clientCertPair: { crt: Buffer; key: Buffer } };
  metadata?: Record<string, string>;
}

/** Connection options for a local server, Temporal Cloud with an API key, or mTLS; both Connection and NativeConnection take them. */
export function connectionOptions(settings: TemporalSettings, readFile: (path: string) => Buffer): TemporalConnectionOptions {
  if (settings.apiKey) return { address: settings.address, apiKey: settings.apiKey, tls: true, metadata: { 'temporal-namespace': settings.namespace } };
  if (settings.tlsCertPath && settings.tlsKeyPath) {
    return { address: settings.address, tls: { clientCertPair: { crt: readFile(settings.tlsCertPath), key: readFile(settings.tlsKeyPath) } } };
  }
  return { address: settings.address };
}
