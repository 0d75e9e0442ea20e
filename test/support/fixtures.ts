/** Small builders for planner and schema tests: commits, trees and the templates every repo holds. */
import type { Snapshot } from '../../common/plan';
import type { CommitInfo } from '../../common/types';

/** A commit on main; the SHA is padded to 40 hex-like characters so short forms stay readable. */
export function commit(sha: string, generation = 1): CommitInfo {
  return {
    sha: sha.padEnd(40, '0'),
    generation,
    author: { name: 'Dev Eloper', email: 'dev@example.com' },
    message: `commit ${sha}`,
    date: '2024-05-01T12:00:00Z',
  };
}

/** The two `common/` templates a valid GitOps repo holds. */
export const TEMPLATES: Record<string, string> = {
  'common/pipeline.yaml': 'AWSTemplateFormatVersion: "2010-09-09"\nDescription: pipeline\nResources: {}\n',
  'common/environment.yaml': 'AWSTemplateFormatVersion: "2010-09-09"\nDescription: environment\nResources: {}\n',
};

/** A tree at a commit: the templates plus the given files (a file set to undefined is left out). */
export function snapshot(files: Record<string, string | undefined>, at: string | CommitInfo = 'a1'): Snapshot {
  const merged: Record<string, string> = {};
  for (const [path, text] of Object.entries({ ...TEMPLATES, ...files })) {
    if (text !== undefined) merged[path] = text;
  }
  return { commit: typeof at === 'string' ? commit(at) : at, files: merged };
}

/** An environment config with the given version and optional extra YAML lines. */
export function config(appVersion: string, ...lines: string[]): string {
  return [`appVersion: ${appVersion}`, ...lines].join('\n') + '\n';
}
