/**
 * Templates travel by content hash: `start` stores each `common/` template once per hash in the
 * artifact bucket (through one small workflow per push), and desired states, activity inputs and
 * continue-as-new carry only the hash. CloudFormation reads the body from S3 (TemplateURL takes
 * up to 1 MB, TemplateBody only 51,200 bytes).
 */

/** One stored template. */
export interface TemplateRef {
  /** SHA-256 of the body's UTF-8 bytes, lowercase hex: the object's name. */
  sha256: string;
  /** Size of the body in bytes. */
  bytes: number;
}

/** The two `common/` templates of a desired state, by hash. */
export interface TemplateRefs {
  pipeline: TemplateRef;
  environment: TemplateRef;
}

/**
 * Where a template is stored, under the repo's `artifactBucket` setting. Folder names cannot
 * start with `_`, so no environment's objects (`cfn-gitops/<env>/…`) share this prefix.
 */
export function templateObjectKey(sha256: string): string {
  return `cfn-gitops/_templates/${sha256}.yaml`;
}

/** The S3 URL CloudFormation reads a stored template from (TemplateURL). */
export function templateUrl(bucket: string, region: string, sha256: string): string {
  return `https://${bucket}.s3.${region}.amazonaws.com/${templateObjectKey(sha256)}`;
}

/** A SHA-256 in lowercase hex. */
export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** What the template store workflow takes: the bodies a push needs, once each. */
export interface StoreTemplatesInput {
  /** The repo's `artifactBucket` setting: a name, or the bootstrap stack's bucket. */
  bucket: string;
  /** The repo's `region`; the worker's region when absent. */
  region?: string;
  templates: { sha256: string; body: string }[];
}

/**
 * Id of the workflow that stores a push's templates: one per set of hashes and bucket, so that
 * concurrent pushes of the same templates share one store, and a re-run finds it done.
 */
export function templateStoreWorkflowId(key: string): string {
  return `cfn-gitops-templates/${key}`;
}
