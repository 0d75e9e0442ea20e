/**
 * The bootstrap stack: one CloudFormation stack per account and region that holds the artifact
 * bucket the pipelines read their source from, as `cdk bootstrap` and SAM's managed bucket do.
 * `cfn-gitops bootstrap` creates or updates it; the worker reads its output when
 * `common/gitops.yaml` names no `artifactBucket`. Pure: names, the template and messages.
 */

/** Name of the bootstrap stack, in every region cfn-gitops deploys to. */
export const BOOTSTRAP_STACK_NAME = 'cfn-gitops-bootstrap';

/** Output of the bootstrap stack that holds the artifact bucket's name. */
export const BOOTSTRAP_BUCKET_OUTPUT = 'ArtifactBucket';

/** Export of that output, for other stacks' `Fn::ImportValue`. */
export const BOOTSTRAP_BUCKET_EXPORT = `${BOOTSTRAP_STACK_NAME}-${BOOTSTRAP_BUCKET_OUTPUT}`;

/**
 * The `artifactBucket` of a repo whose `common/gitops.yaml` names none: "the bucket of the
 * bootstrap stack in the environment's region", resolved by the worker's activities. It reads
 * as the stack and its output, and it can never be a real bucket name (S3 allows no colon).
 */
export const BOOTSTRAP_BUCKET = `${BOOTSTRAP_STACK_NAME}:${BOOTSTRAP_BUCKET_OUTPUT}`;

/** Days a replaced version of an artifact is kept before the lifecycle rule expires it. */
export const NONCURRENT_VERSION_DAYS = 30;

/** True when an `artifactBucket` means the bootstrap stack's bucket rather than a named one. */
export function isBootstrapBucket(artifactBucket: string): boolean {
  return artifactBucket === BOOTSTRAP_BUCKET;
}

/**
 * The bootstrap stack's template. The bucket is versioned (CodePipeline's S3 source needs it),
 * encrypted by default (SSE-S3), closed to the public, reachable only over TLS, and drops
 * replaced versions after {@link NONCURRENT_VERSION_DAYS} days. It is retained when the stack
 * is deleted or the bucket replaced: artifacts outlive the stack, as with `cdk bootstrap`.
 * `BucketName` empty lets CloudFormation name the bucket (names are global).
 */
export const BOOTSTRAP_TEMPLATE = `AWSTemplateFormatVersion: '2010-09-09'
Description: cfn-gitops bootstrap - the artifact bucket of the environment pipelines (made by cfn-gitops bootstrap)

Parameters:
  BucketName:
    Type: String
    Default: ''
    Description: Name of the artifact bucket; empty lets CloudFormation choose a unique one.

Conditions:
  HasBucketName: !Not [!Equals [!Ref BucketName, '']]

Resources:
  ArtifactBucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      BucketName: !If [HasBucketName, !Ref BucketName, !Ref AWS::NoValue]
      VersioningConfiguration:
        Status: Enabled
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault:
              SSEAlgorithm: AES256
      PublicAccessBlockConfiguration:
        BlockPublicAcls: true
        BlockPublicPolicy: true
        IgnorePublicAcls: true
        RestrictPublicBuckets: true
      OwnershipControls:
        Rules:
          - ObjectOwnership: BucketOwnerEnforced
      LifecycleConfiguration:
        Rules:
          - Id: ExpireNoncurrentVersions
            Status: Enabled
            NoncurrentVersionExpiration:
              NoncurrentDays: ${NONCURRENT_VERSION_DAYS}
            AbortIncompleteMultipartUpload:
              DaysAfterInitiation: 7

  ArtifactBucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref ArtifactBucket
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Sid: DenyInsecureTransport
            Effect: Deny
            Principal: '*'
            Action: 's3:*'
            Resource:
              - !GetAtt ArtifactBucket.Arn
              - !Sub '\${ArtifactBucket.Arn}/*'
            Condition:
              Bool:
                aws:SecureTransport: 'false'

Outputs:
  ${BOOTSTRAP_BUCKET_OUTPUT}:
    Description: The artifact bucket cfn-gitops uses when common/gitops.yaml names no artifactBucket
    Value: !Ref ArtifactBucket
    Export:
      Name: !Sub '\${AWS::StackName}-${BOOTSTRAP_BUCKET_OUTPUT}'
`;

/**
 * The command that bootstraps a region, for messages.
 * @example bootstrapCommand('eu-west-1') // 'cfn-gitops bootstrap --region eu-west-1'
 */
export function bootstrapCommand(region: string, bucketName?: string): string {
  return `cfn-gitops bootstrap --region ${region}${bucketName ? ` --bucket-name ${bucketName}` : ''}`;
}

/**
 * What to do when the artifact bucket is not there: run bootstrap (for a bucket named in
 * `common/gitops.yaml`, bootstrap can create it under that name). `stackBucket` is the bucket
 * the bootstrap stack names, when the stack exists but its bucket is gone.
 * @example missingBucketFix('us-east-1', BOOTSTRAP_BUCKET) // 'common/gitops.yaml names no artifactBucket, …; run `cfn-gitops bootstrap --region us-east-1` …'
 */
export function missingBucketFix(region: string, artifactBucket: string, stackBucket?: string): string {
  if (!isBootstrapBucket(artifactBucket)) {
    return `create the bucket common/gitops.yaml names as artifactBucket with \`${bootstrapCommand(region, artifactBucket)}\`, or leave artifactBucket out and run \`${bootstrapCommand(region)}\``;
  }
  if (stackBucket) {
    return `bucket ${stackBucket} of stack ${BOOTSTRAP_STACK_NAME} is gone; delete that stack and run \`${bootstrapCommand(region)}\` again`;
  }
  return `common/gitops.yaml names no artifactBucket, so the bucket of stack ${BOOTSTRAP_STACK_NAME} is used; run \`${bootstrapCommand(region)}\` once in that account and region`;
}
