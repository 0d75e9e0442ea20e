import { z } from 'zod';
import { explainZodError, readTemporalSettings, type TemporalSettings } from '../common/temporal-settings';

/** Everything the API server reads from its environment. */
export interface ServerSettings {
  temporal: TemporalSettings;
  /** CFN_GITOPS_API_TOKENS (`token=Person Name,token2=Other`): bearer token → the person it stands for. */
  apiTokens: Map<string, string>;
  /** GITHUB_WEBHOOK_SECRET: the webhook's shared secret; without it `POST /webhooks/github` answers 503. */
  webhookSecret?: string;
  /** CFN_GITOPS_REPO: path or URL of the GitOps repo fetched on webhook pushes and read for desired versions. */
  repo?: string;
  /** CFN_GITOPS_REPO_CACHE: folder of the server's clone of the repo (default: a folder under the OS temp dir). */
  repoCache?: string;
  /** CFN_GITOPS_BRANCH: the branch whose pushes deploy (default `main`). */
  branch: string;
  /** CFN_GITOPS_DASHBOARD_REFRESH: seconds between dashboard refreshes (default 3). */
  refreshSeconds: number;
  /** CFN_GITOPS_WEBHOOK_MAX_BYTES: largest webhook body read, in bytes (default 5 MiB); larger ones get 413. */
  webhookMaxBytes: number;
}

/** Default of CFN_GITOPS_WEBHOOK_MAX_BYTES: push events of thousands of commits stay far below it. */
export const DEFAULT_WEBHOOK_MAX_BYTES = 5 * 1024 * 1024;
/** GitHub caps webhook payloads at 25 MB: a limit above it would only let others in. */
const GITHUB_PAYLOAD_CAP = 25 * 1024 * 1024;

/** `token=Person Name,token2=Other`; tokens are at least 16 characters, names not empty. */
const tokens = z.string().transform((value, ctx) => {
  const map = new Map<string, string>();
  for (const [index, item] of value.split(',').map((s) => s.trim()).filter(Boolean).entries()) {
    const eq = item.indexOf('=');
    const token = eq > 0 ? item.slice(0, eq).trim() : '';
    const name = eq > 0 ? item.slice(eq + 1).trim() : '';
    if (!token || !name) {
      ctx.addIssue({ code: 'custom', message: `entry ${index + 1} is not token=Person Name` });
      return z.NEVER;
    }
    if (token.length < 16) {
      ctx.addIssue({ code: 'custom', message: `entry ${index + 1} (${name}): a token has at least 16 characters` });
      return z.NEVER;
    }
    if (map.has(token)) {
      ctx.addIssue({ code: 'custom', message: `entry ${index + 1} (${name}): the token is listed twice` });
      return z.NEVER;
    }
    map.set(token, name);
  }
  return map;
});

const serverSchema = z.object({
  CFN_GITOPS_API_TOKENS: tokens.default(new Map()),
  GITHUB_WEBHOOK_SECRET: z.string().min(1).optional(),
  CFN_GITOPS_REPO: z.string().min(1).optional(),
  CFN_GITOPS_REPO_CACHE: z.string().min(1).optional(),
  CFN_GITOPS_BRANCH: z.string().regex(/^[\w./-]+$/, 'a branch name').default('main'),
  CFN_GITOPS_DASHBOARD_REFRESH: z.coerce.number().min(1).max(3600).default(3),
  CFN_GITOPS_WEBHOOK_MAX_BYTES: z.coerce.number().int().min(1024).max(GITHUB_PAYLOAD_CAP).default(DEFAULT_WEBHOOK_MAX_BYTES),
});

/**
 * The server's settings from environment variables.
 * @throws Error naming each invalid variable (never echoing a token).
 * @example readServerSettings({ CFN_GITOPS_API_TOKENS: 'abcdefghijklmnop=Alice' }).apiTokens.get('abcdefghijklmnop') // 'Alice'
 */
export function readServerSettings(env: NodeJS.ProcessEnv = process.env): ServerSettings {
  // Empty variables count as unset, as in docker-compose files with `VAR=`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = serverSchema.safeParse(present);
  if (!parsed.success) throw new Error(`invalid settings: ${explainZodError(parsed.error)}`);
  const s = parsed.data;
  return {
    temporal: readTemporalSettings(env),
    apiTokens: s.CFN_GITOPS_API_TOKENS,
    webhookSecret: s.GITHUB_WEBHOOK_SECRET,
    repo: s.CFN_GITOPS_REPO,
    repoCache: s.CFN_GITOPS_REPO_CACHE,
    branch: s.CFN_GITOPS_BRANCH,
    refreshSeconds: s.CFN_GITOPS_DASHBOARD_REFRESH,
    webhookMaxBytes: s.CFN_GITOPS_WEBHOOK_MAX_BYTES,
  };
}
