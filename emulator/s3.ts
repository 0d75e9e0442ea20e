import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { AwsError } from './errors';
import type { Json } from './json';
import { hex, suffix } from './random';
import { writeXml, xmlDocument, type XmlValue } from './xml';

/**
 * A minimal S3: path-style buckets and objects (CreateBucket, HeadBucket, DeleteBucket,
 * ListBuckets, PutObject, GetObject, HeadObject, DeleteObject, ListObjectsV2), enough for
 * pipeline sources, artifact stores and TemplateURL; and the bucket settings a stack's
 * `AWS::S3::Bucket` gives (versioning, default encryption, public access block, lifecycle).
 */

/** A stored object. */
export interface S3Object {
  body: Buffer;
  etag: string;
  lastModified: number;
  contentType?: string;
  /** User metadata (`x-amz-meta-*`), keys lowercased without the prefix. */
  metadata: Record<string, string>;
  versionId: string;
}

/** One lifecycle rule, in the S3 API's shape (`<Rule>` of GetBucketLifecycleConfiguration). */
export type LifecycleRule = { [key: string]: Json };

/** Settings of a bucket; absent ones are S3's defaults (unversioned, SSE-S3, no block, no rules). */
export interface BucketSettings {
  versioning?: 'Enabled' | 'Suspended';
  /** Default encryption rules: `{SSEAlgorithm, KMSMasterKeyID?, BucketKeyEnabled?}`. */
  encryption?: { SSEAlgorithm: string; KMSMasterKeyID?: string; BucketKeyEnabled?: boolean }[];
  publicAccessBlock?: { BlockPublicAcls: boolean; IgnorePublicAcls: boolean; BlockPublicPolicy: boolean; RestrictPublicBuckets: boolean };
  lifecycle?: LifecycleRule[];
}

/** A bucket. */
export interface S3Bucket {
  name: string;
  created: number;
  region: string;
  objects: Map<string, S3Object>;
  settings: BucketSettings;
}

/** The result of an S3 request. */
export interface S3Response {
  status: number;
  headers: Record<string, string>;
  body?: Buffer | string;
  operation: string;
  target?: string;
}

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function noSuchBucket(bucket: string): AwsError {
  return new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: bucket });
}

/** The buckets and objects, and the S3 REST handler over them. */
export class S3Store {
  readonly buckets = new Map<string, S3Bucket>();

  constructor(
    private readonly defaultRegion: string,
    private readonly changed: () => void,
  ) {}

  /** Creates a bucket if it does not exist. */
  createBucket(name: string, region = this.defaultRegion): S3Bucket {
    let bucket = this.buckets.get(name);
    if (!bucket) {
      bucket = { name, created: Date.now(), region, objects: new Map(), settings: {} };
      this.buckets.set(name, bucket);
      this.changed();
    }
    return bucket;
  }

  /** Deletes an empty bucket. @throws AwsError NoSuchBucket, BucketNotEmpty. */
  deleteBucket(name: string): void {
    const bucket = this.buckets.get(name);
    if (!bucket) throw noSuchBucket(name);
    if (bucket.objects.size > 0) {
      throw new AwsError('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409, { BucketName: name });
    }
    this.buckets.delete(name);
    this.changed();
  }

  /**
   * Sets a bucket's settings from the properties of an `AWS::S3::Bucket` (CloudFormation's
   * shape); what the properties leave out goes back to S3's default.
   */
  applyBucketProperties(name: string, properties: { [key: string]: Json } | undefined): void {
    const bucket = this.buckets.get(name);
    if (!bucket) return;
    bucket.settings = bucketSettingsFromProperties(properties ?? {});
    this.changed();
  }

  /** Reads an object. @throws AwsError NoSuchBucket, NoSuchKey. */
  getObject(bucketName: string, key: string): S3Object {
    const bucket = this.buckets.get(bucketName);
    if (!bucket) throw noSuchBucket(bucketName);
    const object = bucket.objects.get(key);
    if (!object) throw new AwsError('NoSuchKey', 'The specified key does not exist.', 404, { Key: key });
    return object;
  }

  /** Writes an object. @throws AwsError NoSuchBucket. */
  putObject(bucketName: string, key: string, body: Buffer, options: { contentType?: string; metadata?: Record<string, string> } = {}): S3Object {
    const bucket = this.buckets.get(bucketName);
    if (!bucket) throw noSuchBucket(bucketName);
    const object: S3Object = {
      body,
      etag: `"${createHash('md5').update(body).digest('hex')}"`,
      lastModified: Date.now(),
      contentType: options.contentType,
      metadata: options.metadata ?? {},
      versionId: `${suffix(16)}.${hex(14)}`,
    };
    bucket.objects.set(key, object);
    this.changed();
    return object;
  }

  /** Reads a template from an S3 URL (TemplateURL). @throws AwsError ValidationError. */
  readUrl(url: string): string {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new AwsError('ValidationError', 'TemplateURL must be a supported URL.', 400);
    }
    let bucket: string | undefined;
    let key: string;
    const hostBucket = /^([^.]+(?:\.[^.]+)*?)\.s3[.-]/.exec(parsed.hostname);
    const path = decodeURIComponent(parsed.pathname).replace(/^\//, '');
    if (hostBucket && !parsed.hostname.startsWith('s3.') && !parsed.hostname.startsWith('s3-')) {
      bucket = hostBucket[1];
      key = path;
    } else {
      const slash = path.indexOf('/');
      bucket = slash < 0 ? path : path.slice(0, slash);
      key = slash < 0 ? '' : path.slice(slash + 1);
    }
    try {
      return this.getObject(bucket, key).body.toString('utf8');
    } catch (error) {
      if (error instanceof AwsError) throw new AwsError('ValidationError', `S3 error: ${error.message}`, 400);
      throw error;
    }
  }

  /** Handles one S3 REST request (path-style). */
  handle(method: string, url: URL, headers: IncomingHttpHeaders, rawBody: Buffer): S3Response {
    const path = url.pathname;
    const firstSlash = path.indexOf('/', 1);
    const bucket = decodeURIComponent(firstSlash < 0 ? path.slice(1) : path.slice(1, firstSlash));
    const key = firstSlash < 0 ? '' : decodeURIComponent(path.slice(firstSlash + 1));
    const q = url.searchParams;
    if (!bucket) {
      if (method === 'GET') return this.listBuckets();
      throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
    }
    const target = key ? `${bucket}/${key}` : bucket;
    if (!key) {
      switch (method) {
        case 'PUT':
          if (q.has('versioning')) return this.putVersioning(bucket, rawBody);
          return this.createBucketCall(bucket, rawBody);
        case 'HEAD':
          if (!this.buckets.has(bucket)) throw noSuchBucket(bucket);
          return { status: 200, headers: { 'x-amz-bucket-region': this.buckets.get(bucket)?.region ?? this.defaultRegion }, operation: 'HeadBucket', target };
        case 'DELETE':
          this.deleteBucket(bucket);
          return { status: 204, headers: {}, operation: 'DeleteBucket', target };
        case 'GET':
          if (q.has('location')) {
            if (!this.buckets.has(bucket)) throw noSuchBucket(bucket);
            const region = this.buckets.get(bucket)?.region;
            return xml('GetBucketLocation', target, 'LocationConstraint', region === 'us-east-1' ? undefined : region);
          }
          if (q.has('versioning') || q.has('encryption') || q.has('publicAccessBlock') || q.has('lifecycle')) return this.bucketSetting(bucket, q);
          return this.listObjects(bucket, q);
        case 'POST':
          if (q.has('delete')) return this.deleteObjects(bucket, rawBody);
      }
      throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
    }
    switch (method) {
      case 'PUT': {
        const copySource = headers['x-amz-copy-source'];
        if (typeof copySource === 'string') return this.copyObject(bucket, key, copySource);
        const body = decodeBody(headers, rawBody);
        const metadata: Record<string, string> = {};
        for (const [name, value] of Object.entries(headers)) {
          if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice(11)] = value;
        }
        const contentType = typeof headers['content-type'] === 'string' ? headers['content-type'] : undefined;
        const object = this.putObject(bucket, key, body, { contentType, metadata });
        return { status: 200, headers: { ETag: object.etag, 'x-amz-version-id': object.versionId }, operation: 'PutObject', target };
      }
      case 'GET':
      case 'HEAD': {
        const object = this.getObject(bucket, key);
        const out: Record<string, string> = {
          ETag: object.etag,
          'Last-Modified': new Date(object.lastModified).toUTCString(),
          'Content-Type': object.contentType ?? 'binary/octet-stream',
          'Content-Length': String(object.body.length),
          'Accept-Ranges': 'bytes',
          'x-amz-version-id': object.versionId,
        };
        for (const [name, value] of Object.entries(object.metadata)) out[`x-amz-meta-${name}`] = value;
        const operation = method === 'GET' ? 'GetObject' : 'HeadObject';
        if (method === 'HEAD') return { status: 200, headers: out, operation, target };
        const range = typeof headers.range === 'string' ? /^bytes=(\d*)-(\d*)$/.exec(headers.range) : null;
        if (range) {
          const size = object.body.length;
          const start = range[1] === '' ? Math.max(0, size - Number(range[2])) : Number(range[1]);
          const end = range[1] !== '' && range[2] !== '' ? Math.min(Number(range[2]), size - 1) : size - 1;
          const slice = object.body.subarray(start, end + 1);
          out['Content-Range'] = `bytes ${start}-${end}/${size}`;
          out['Content-Length'] = String(slice.length);
          return { status: 206, headers: out, body: slice, operation, target };
        }
        return { status: 200, headers: out, body: object.body, operation, target };
      }
      case 'DELETE': {
        const b = this.buckets.get(bucket);
        if (!b) throw noSuchBucket(bucket);
        if (b.objects.delete(key)) this.changed();
        return { status: 204, headers: {}, operation: 'DeleteObject', target };
      }
    }
    throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
  }

  private createBucketCall(name: string, body: Buffer): S3Response {
    if (!BUCKET_NAME.test(name)) throw new AwsError('InvalidBucketName', 'The specified bucket is not valid.', 400, { BucketName: name });
    const location = /<LocationConstraint>([^<]*)<\/LocationConstraint>/.exec(body.toString('utf8'))?.[1];
    const region = location || 'us-east-1';
    const existing = this.buckets.get(name);
    // us-east-1 answers 200 to a repeated CreateBucket by the owner; other regions answer 409.
    if (existing && region !== 'us-east-1') {
      throw new AwsError(
        'BucketAlreadyOwnedByYou',
        'Your previous request to create the named bucket succeeded and you already own it.',
        409,
        { BucketName: name },
      );
    }
    this.createBucket(name, region);
    return { status: 200, headers: { Location: `/${name}` }, operation: 'CreateBucket', target: name };
  }

  /** GetBucketVersioning, GetBucketEncryption, GetPublicAccessBlock, GetBucketLifecycleConfiguration. */
  private bucketSetting(name: string, q: URLSearchParams): S3Response {
    const bucket = this.buckets.get(name);
    if (!bucket) throw noSuchBucket(name);
    const { settings } = bucket;
    if (q.has('versioning')) return xml('GetBucketVersioning', name, 'VersioningConfiguration', { Status: settings.versioning });
    if (q.has('encryption')) {
      // Since January 2023 every bucket has SSE-S3 unless told otherwise.
      const rules = settings.encryption ?? [{ SSEAlgorithm: 'AES256', BucketKeyEnabled: false }];
      const body = rules.map(({ BucketKeyEnabled, ...byDefault }) => ({ ApplyServerSideEncryptionByDefault: byDefault, BucketKeyEnabled: BucketKeyEnabled ?? false }));
      return flatXml('GetBucketEncryption', name, 'ServerSideEncryptionConfiguration', 'Rule', body);
    }
    if (q.has('publicAccessBlock')) {
      if (!settings.publicAccessBlock) {
        throw new AwsError('NoSuchPublicAccessBlockConfiguration', 'The public access block configuration was not found', 404, { BucketName: name });
      }
      return xml('GetPublicAccessBlock', name, 'PublicAccessBlockConfiguration', settings.publicAccessBlock);
    }
    if (!settings.lifecycle?.length) throw new AwsError('NoSuchLifecycleConfiguration', 'The lifecycle configuration does not exist', 404, { BucketName: name });
    return flatXml('GetBucketLifecycleConfiguration', name, 'LifecycleConfiguration', 'Rule', settings.lifecycle as XmlValue[]);
  }

  /** PutBucketVersioning: `<VersioningConfiguration><Status>Enabled|Suspended</Status>`. */
  private putVersioning(name: string, body: Buffer): S3Response {
    const bucket = this.buckets.get(name);
    if (!bucket) throw noSuchBucket(name);
    const status = /<Status>([^<]*)<\/Status>/.exec(body.toString('utf8'))?.[1];
    if (status !== 'Enabled' && status !== 'Suspended') throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema', 400);
    bucket.settings.versioning = status;
    this.changed();
    return { status: 200, headers: {}, operation: 'PutBucketVersioning', target: name };
  }

  private listBuckets(): S3Response {
    const out = ['<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="', XMLNS, '"><Owner><ID>emulator</ID><DisplayName>emulator</DisplayName></Owner><Buckets>'];
    for (const b of this.buckets.values()) {
      out.push('<Bucket><Name>', b.name, '</Name><CreationDate>', new Date(b.created).toISOString(), '</CreationDate></Bucket>');
    }
    out.push('</Buckets></ListAllMyBucketsResult>');
    return { status: 200, headers: { 'Content-Type': 'application/xml' }, body: out.join(''), operation: 'ListBuckets' };
  }

  private listObjects(bucketName: string, q: URLSearchParams): S3Response {
    const bucket = this.buckets.get(bucketName);
    if (!bucket) throw noSuchBucket(bucketName);
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxKeys = Math.min(1000, Number(q.get('max-keys') ?? 1000));
    const v2 = q.get('list-type') === '2';
    const token = q.get('continuation-token');
    const startAfter = token ? Buffer.from(token, 'base64').toString('utf8') : (q.get(v2 ? 'start-after' : 'marker') ?? '');
    const keys = [...bucket.objects.keys()].filter((k) => k.startsWith(prefix) && k > startAfter).sort();
    const contents: XmlValue[] = [];
    const prefixes = new Set<string>();
    let truncated = false;
    let last = '';
    for (const k of keys) {
      if (contents.length + prefixes.size >= maxKeys) {
        truncated = true;
        break;
      }
      last = k;
      if (delimiter) {
        const rest = k.slice(prefix.length);
        const at = rest.indexOf(delimiter);
        if (at >= 0) {
          prefixes.add(prefix + rest.slice(0, at + delimiter.length));
          continue;
        }
      }
      const o = bucket.objects.get(k) as S3Object;
      contents.push({ Key: k, LastModified: new Date(o.lastModified), ETag: o.etag, Size: o.body.length, StorageClass: 'STANDARD' });
    }
    const parts: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="', XMLNS, '">'];
    const el = (name: string, value: string | number | boolean): void => {
      parts.push('<', name, '>', escape(String(value)), '</', name, '>');
    };
    el('Name', bucketName);
    el('Prefix', prefix);
    if (delimiter) el('Delimiter', delimiter);
    el('MaxKeys', maxKeys);
    el('IsTruncated', truncated);
    if (v2) {
      el('KeyCount', contents.length + prefixes.size);
      if (token) el('ContinuationToken', token);
      if (truncated) el('NextContinuationToken', Buffer.from(last).toString('base64'));
    } else if (truncated) el('NextMarker', last);
    for (const c of contents) {
      const o = c as { Key: string; LastModified: Date; ETag: string; Size: number };
      parts.push('<Contents>');
      el('Key', o.Key);
      el('LastModified', o.LastModified.toISOString());
      el('ETag', o.ETag);
      el('Size', o.Size);
      el('StorageClass', 'STANDARD');
      parts.push('</Contents>');
    }
    for (const p of prefixes) {
      parts.push('<CommonPrefixes>');
      el('Prefix', p);
      parts.push('</CommonPrefixes>');
    }
    parts.push('</ListBucketResult>');
    return {
      status: 200,
      headers: { 'Content-Type': 'application/xml' },
      body: parts.join(''),
      operation: v2 ? 'ListObjectsV2' : 'ListObjects',
      target: bucketName,
    };
  }

  private deleteObjects(bucketName: string, body: Buffer): S3Response {
    const bucket = this.buckets.get(bucketName);
    if (!bucket) throw noSuchBucket(bucketName);
    const keys = [...body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => unescape(m[1]));
    const parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="', XMLNS, '">'];
    for (const key of keys) {
      bucket.objects.delete(key);
      parts.push('<Deleted><Key>', escape(key), '</Key></Deleted>');
    }
    parts.push('</DeleteResult>');
    this.changed();
    return { status: 200, headers: { 'Content-Type': 'application/xml' }, body: parts.join(''), operation: 'DeleteObjects', target: bucketName };
  }

  private copyObject(bucket: string, key: string, source: string): S3Response {
    const decoded = decodeURIComponent(source.replace(/^\//, ''));
    const slash = decoded.indexOf('/');
    const from = this.getObject(decoded.slice(0, slash), decoded.slice(slash + 1).split('?')[0]);
    const object = this.putObject(bucket, key, Buffer.from(from.body), { contentType: from.contentType, metadata: { ...from.metadata } });
    return xml('CopyObject', `${bucket}/${key}`, 'CopyObjectResult', {
      LastModified: new Date(object.lastModified),
      ETag: object.etag,
    });
  }

  /** Forgets everything. */
  clear(): void {
    this.buckets.clear();
  }

  /** Buckets and objects as JSON for the state file. */
  snapshot(): Json {
    const out: Json[] = [];
    for (const b of this.buckets.values()) {
      out.push({
        name: b.name,
        created: b.created,
        region: b.region,
        settings: b.settings as unknown as Json,
        objects: [...b.objects.entries()].map(([key, o]) => ({
          key,
          body: o.body.toString('base64'),
          etag: o.etag,
          lastModified: o.lastModified,
          contentType: o.contentType ?? null,
          metadata: o.metadata,
          versionId: o.versionId,
        })),
      });
    }
    return out;
  }

  /** Restores what `snapshot` returned. */
  restore(data: Json): void {
    this.clear();
    type Stored = {
      name: string;
      created: number;
      region: string;
      settings?: BucketSettings;
      objects: { key: string; body: string; etag: string; lastModified: number; contentType: string | null; metadata: Record<string, string>; versionId: string }[];
    };
    for (const b of (data ?? []) as unknown as Stored[]) {
      const bucket: S3Bucket = { name: b.name, created: b.created, region: b.region, objects: new Map(), settings: b.settings ?? {} };
      for (const o of b.objects) {
        bucket.objects.set(o.key, {
          body: Buffer.from(o.body, 'base64'),
          etag: o.etag,
          lastModified: o.lastModified,
          contentType: o.contentType ?? undefined,
          metadata: o.metadata,
          versionId: o.versionId,
        });
      }
      this.buckets.set(b.name, bucket);
    }
  }
}

function xml(operation: string, target: string, root: string, body: XmlValue): S3Response {
  return { status: 200, headers: { 'Content-Type': 'application/xml' }, body: xmlDocument(root, body, XMLNS), operation, target };
}

/** A document whose list is flattened, as S3 writes lists: `<Root><Item>…</Item><Item>…</Item></Root>`. */
function flatXml(operation: string, target: string, root: string, item: string, items: XmlValue[]): S3Response {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>\n<', root, ' xmlns="', XMLNS, '">'];
  for (const value of items) {
    out.push('<', item, '>');
    writeXml(out, value);
    out.push('</', item, '>');
  }
  out.push('</', root, '>');
  return { status: 200, headers: { 'Content-Type': 'application/xml' }, body: out.join(''), operation, target };
}

const asObject = (value: Json | undefined): { [key: string]: Json } => (value && typeof value === 'object' && !Array.isArray(value) ? value : {});
const asList = (value: Json | undefined): Json[] => (Array.isArray(value) ? value : []);
const asBool = (value: Json | undefined): boolean => value === true || value === 'true';

/** The settings an `AWS::S3::Bucket`'s properties give, in the S3 API's shape. */
export function bucketSettingsFromProperties(properties: { [key: string]: Json }): BucketSettings {
  const settings: BucketSettings = {};
  const status = asObject(properties.VersioningConfiguration).Status;
  if (status === 'Enabled' || status === 'Suspended') settings.versioning = status;
  const encryption = asList(asObject(properties.BucketEncryption).ServerSideEncryptionConfiguration).map((rule) => {
    const byDefault = asObject(asObject(rule).ServerSideEncryptionByDefault);
    return {
      SSEAlgorithm: String(byDefault.SSEAlgorithm ?? 'AES256'),
      ...(byDefault.KMSMasterKeyID !== undefined ? { KMSMasterKeyID: String(byDefault.KMSMasterKeyID) } : {}),
      BucketKeyEnabled: asBool(asObject(rule).BucketKeyEnabled),
    };
  });
  if (encryption.length) settings.encryption = encryption;
  if (properties.PublicAccessBlockConfiguration !== undefined) {
    const block = asObject(properties.PublicAccessBlockConfiguration);
    settings.publicAccessBlock = {
      BlockPublicAcls: asBool(block.BlockPublicAcls),
      IgnorePublicAcls: asBool(block.IgnorePublicAcls),
      BlockPublicPolicy: asBool(block.BlockPublicPolicy),
      RestrictPublicBuckets: asBool(block.RestrictPublicBuckets),
    };
  }
  const rules = asList(asObject(properties.LifecycleConfiguration).Rules).map((value) => {
    const rule = asObject(value);
    const noncurrentDays = asObject(rule.NoncurrentVersionExpiration).NoncurrentDays ?? rule.NoncurrentVersionExpirationInDays;
    const abortDays = asObject(rule.AbortIncompleteMultipartUpload).DaysAfterInitiation;
    const out: LifecycleRule = {};
    if (rule.Id !== undefined) out.ID = String(rule.Id);
    out.Filter = { Prefix: String(rule.Prefix ?? '') };
    out.Status = String(rule.Status ?? 'Enabled');
    if (rule.ExpirationInDays !== undefined) out.Expiration = { Days: Number(rule.ExpirationInDays) };
    if (noncurrentDays !== undefined) out.NoncurrentVersionExpiration = { NoncurrentDays: Number(noncurrentDays) };
    if (abortDays !== undefined) out.AbortIncompleteMultipartUpload = { DaysAfterInitiation: Number(abortDays) };
    return out;
  });
  if (rules.length) settings.lifecycle = rules;
  return settings;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function unescape(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/**
 * The object bytes of a PutObject body: plain, or `aws-chunked` (what the SDK sends for
 * streams, with a trailing checksum) decoded.
 */
export function decodeBody(headers: IncomingHttpHeaders, body: Buffer): Buffer {
  const encoding = String(headers['content-encoding'] ?? '');
  const sha = String(headers['x-amz-content-sha256'] ?? '');
  if (!encoding.includes('aws-chunked') && !sha.startsWith('STREAMING-')) return body;
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset < body.length) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const header = body.subarray(offset, lineEnd).toString('latin1');
    const size = parseInt(header.split(';')[0], 16);
    offset = lineEnd + 2;
    if (!Number.isFinite(size) || size === 0) break;
    chunks.push(body.subarray(offset, offset + size));
    offset += size + 2;
  }
  return Buffer.concat(chunks);
}

/** Renders an S3 error as S3 does (XML body; none for HEAD). */
export function s3ErrorResponse(error: AwsError, requestId: string, method: string): { status: number; headers: Record<string, string>; body: string } {
  if (method === 'HEAD') return { status: error.status, headers: {}, body: '' };
  const fields: XmlValue = { Code: error.code, Message: error.message, ...error.extra, RequestId: requestId, HostId: requestId };
  return { status: error.status, headers: { 'Content-Type': 'application/xml' }, body: xmlDocument('Error', fields) };
}
