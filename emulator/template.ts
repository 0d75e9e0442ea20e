import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { AwsError, validationError } from './errors';
import { isObject, type Json, type JsonObject } from './json';

/**
 * CloudFormation templates: parsing (JSON or YAML with the short intrinsic tags), structure
 * checks, parameter values and the resolution of intrinsic functions and conditions.
 * Everything here is pure: the caller hands in the names and ids of the world around.
 */

/** One declared template parameter. */
export interface ParameterDeclaration {
  /** The parameter's type, e.g. `String`, `Number`, `CommaDelimitedList`. */
  type: string;
  /** The default, as a string (lists joined with commas). */
  defaultValue?: string;
  /** Values the parameter may take. */
  allowedValues?: string[];
  /** A regular expression the whole value must match. */
  allowedPattern?: string;
  /** Whether DescribeStacks masks the value. */
  noEcho: boolean;
  /** The parameter's description. */
  description?: string;
  /** The message shown when a constraint fails. */
  constraintDescription?: string;
  /** Length limits for strings. */
  minLength?: number;
  maxLength?: number;
  /** Value limits for numbers. */
  minValue?: number;
  maxValue?: number;
}

/** A parsed and checked template, kept with the stack so Describe calls never parse again. */
export interface TemplateInfo {
  /** The template body as submitted. */
  body: string;
  /** The template as JSON, short tags turned into their `Fn::` form. */
  doc: JsonObject;
  /** The template's Description. */
  description?: string;
  /** Declared parameters, in template order. */
  parameters: Map<string, ParameterDeclaration>;
  /** Logical id → resource type, in template order. */
  resourceTypes: Map<string, string>;
  /** Transforms the template declares. */
  transforms: string[];
  /** Capabilities the template needs (CAPABILITY_IAM, CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND). */
  requiredCapabilities: string[];
  /** Why those capabilities are needed, as ValidateTemplate words it. */
  capabilitiesReason?: string;
}

/** A parameter value as a call supplies it. */
export interface ParameterInput {
  key: string;
  value?: string;
  usePreviousValue?: boolean;
}

/** The world a template is resolved in. */
export interface ResolveEnvironment {
  stackName: string;
  stackId: string;
  region: string;
  accountId: string;
  notificationArns: string[];
  /** Effective parameter values, by key. */
  parameters: Record<string, string>;
  /** The value of an export, or undefined. */
  importValue(name: string): string | undefined;
  /** Physical id and attributes of a resource, once its properties are resolved. */
  identify(logicalId: string, type: string, properties: JsonObject | undefined): ResourceIdentity;
  /** A `Fn::GetAtt` attribute the identity does not list (a plausible value for any type). */
  attribute(type: string, identity: ResourceIdentity, name: string): Json;
}

/** A resource's physical id and its `Fn::GetAtt` attributes. */
export interface ResourceIdentity {
  physicalId: string;
  attributes: Record<string, Json>;
}

/** A resource of the resolved template. */
export interface ResolvedResource extends ResourceIdentity {
  logicalId: string;
  type: string;
  /** Fully resolved properties (undefined when the template declares none). */
  properties?: JsonObject;
  /** Logical ids this resource depends on (Ref, GetAtt, Sub, DependsOn). */
  dependsOn: string[];
  deletionPolicy?: string;
  updateReplacePolicy?: string;
  metadata?: Json;
}

/** A resolved stack output. */
export interface ResolvedOutput {
  key: string;
  value: string;
  description?: string;
  exportName?: string;
}

/** The result of resolving a template against parameters and the world. */
export interface ResolvedTemplate {
  /** Resources in creation order (dependencies first). */
  resources: ResolvedResource[];
  outputs: ResolvedOutput[];
}

const TOP_LEVEL = new Set([
  'AWSTemplateFormatVersion',
  'Description',
  'Metadata',
  'Parameters',
  'Rules',
  'Mappings',
  'Conditions',
  'Transform',
  'Resources',
  'Outputs',
  'Hooks',
]);

const PSEUDO = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);

const FUNCTIONS = new Set([
  'And',
  'Base64',
  'Cidr',
  'Equals',
  'FindInMap',
  'ForEach',
  'GetAZs',
  'GetAtt',
  'If',
  'ImportValue',
  'Join',
  'Length',
  'Not',
  'Or',
  'Select',
  'Split',
  'Sub',
  'ToJsonString',
  'Transform',
]);

const IAM_TYPES: Record<string, string | undefined> = {
  'AWS::IAM::AccessKey': undefined,
  'AWS::IAM::Group': 'GroupName',
  'AWS::IAM::InstanceProfile': 'InstanceProfileName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::Policy': undefined,
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::User': 'UserName',
  'AWS::IAM::UserToGroupAddition': undefined,
};

function formatError(message: string): AwsError {
  return validationError(`Template format error: ${message}`);
}

/**
 * Parses a template body (JSON when it starts with `{`, YAML otherwise) and checks its structure.
 * @throws AwsError ValidationError worded as CloudFormation words it.
 */
export function parseTemplate(body: string): TemplateInfo {
  const doc = parseBody(body);
  return analyze(body, doc);
}

function parseBody(body: string): JsonObject {
  const trimmed = body.trimStart();
  if (trimmed.length === 0) throw validationError('Template format error: template body is empty');
  let value: Json;
  if (trimmed.startsWith('{')) {
    try {
      value = JSON.parse(body) as Json;
    } catch {
      const position = jsonErrorOffset(body);
      const before = body.slice(0, position).split('\n');
      throw formatError(`JSON not well-formed. (line ${before.length}, column ${before[before.length - 1].length + 1})`);
    }
  } else {
    const document = parseDocument(body, { uniqueKeys: true, strict: false });
    if (document.errors.length > 0) {
      const first = document.errors[0];
      const pos = first.linePos?.[0];
      throw formatError(`YAML not well-formed. (line ${pos?.line ?? 1}, column ${pos?.col ?? 1})`);
    }
    value = yamlToJson(document.contents, document);
  }
  if (!isObject(value)) throw formatError('not a JSON or YAML object');
  return value;
}

function yamlToJson(node: unknown, document: Document): Json {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return yamlToJson(node.resolve(document), document);
  let value: Json;
  let tag: string | undefined;
  if (isScalar(node)) {
    tag = node.tag;
    const raw = node.value;
    if (raw === null || raw === undefined) value = tag && tag.startsWith('!') ? '' : null;
    else if (typeof raw === 'bigint') value = Number(raw);
    else if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') value = raw;
    else value = String(raw);
  } else if (isMap(node)) {
    tag = node.tag;
    const out: JsonObject = {};
    for (const pair of node.items) {
      const key = yamlToJson(pair.key, document);
      out[String(key)] = yamlToJson(pair.value, document);
    }
    value = out;
  } else if (isSeq(node)) {
    tag = node.tag;
    value = node.items.map((item) => yamlToJson(item, document));
  } else {
    return null;
  }
  if (tag && tag.startsWith('!')) return shortForm(tag.slice(1), value);
  return value;
}

function shortForm(name: string, value: Json): Json {
  if (name === 'Ref') return { Ref: value };
  if (name === 'Condition') return { Condition: value };
  if (name === 'GetAtt' && typeof value === 'string') {
    const dot = value.indexOf('.');
    return { 'Fn::GetAtt': dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)] };
  }
  if (FUNCTIONS.has(name)) return { [`Fn::${name}`]: value };
  throw formatError(`YAML not well-formed. Unknown tag !${name}`);
}

function analyze(body: string, doc: JsonObject): TemplateInfo {
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL.has(key)) throw validationError(`Invalid template property or properties [${key}]`);
  }
  const version = doc.AWSTemplateFormatVersion;
  if (version !== undefined && String(version) !== '2010-09-09') {
    throw formatError(`'${String(version)}' is not a supported value for AWSTemplateFormatVersion.`);
  }
  const resources = doc.Resources;
  if (!isObject(resources) || Object.keys(resources).length === 0) {
    throw formatError('At least one Resources member must be defined.');
  }
  const parameters = new Map<string, ParameterDeclaration>();
  if (doc.Parameters !== undefined) {
    if (!isObject(doc.Parameters)) throw formatError('Parameters must be an object');
    for (const [key, decl] of Object.entries(doc.Parameters)) {
      parameters.set(key, parameterDeclaration(decl));
    }
  }
  const resourceTypes = new Map<string, string>();
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (!/^[A-Za-z0-9]+$/.test(logicalId)) throw formatError(`Resource name ${logicalId} is non alphanumeric.`);
    if (!isObject(resource) || typeof resource.Type !== 'string') {
      throw formatError(`[/Resources/${logicalId}] Every Resources object must contain a Type member.`);
    }
    if (resource.Properties !== undefined && !isObject(resource.Properties)) {
      throw formatError(`[/Resources/${logicalId}/Properties] Properties must be an object.`);
    }
    resourceTypes.set(logicalId, resource.Type);
  }
  const conditions = isObject(doc.Conditions) ? doc.Conditions : {};
  // Every reference must name something the template declares.
  const unresolved = new Set<string>();
  for (const [logicalId, resource] of Object.entries(resources)) {
    const r = resource as JsonObject;
    for (const dep of dependsOnList(r.DependsOn)) {
      if (!resourceTypes.has(dep)) unresolved.add(dep);
    }
    if (typeof r.Condition === 'string' && !(r.Condition in conditions)) {
      throw formatError(`Unresolved dependencies [${r.Condition}]. Cannot reference resources in the Conditions block of the template`);
    }
    scanReferences(r.Properties, parameters, resourceTypes, unresolved, logicalId);
    scanReferences(r.Metadata, parameters, resourceTypes, unresolved, logicalId);
  }
  if (unresolved.size > 0) {
    throw formatError(`Unresolved resource dependencies [${[...unresolved].join(', ')}] in the Resources block of the template`);
  }
  if (isObject(doc.Outputs)) {
    for (const [key, output] of Object.entries(doc.Outputs)) {
      if (!isObject(output) || output.Value === undefined) {
        throw formatError(`Every Outputs member must contain a Value object, the Outputs member [${key}] is missing a Value.`);
      }
      scanReferences(output, parameters, resourceTypes, unresolved);
    }
    if (unresolved.size > 0) {
      throw formatError(`Unresolved resource dependencies [${[...unresolved].join(', ')}] in the Outputs block of the template`);
    }
  }
  const transforms = doc.Transform === undefined ? [] : Array.isArray(doc.Transform) ? doc.Transform.map(String) : [String(doc.Transform)];
  const required = new Set<string>();
  const iamResources = new Set<string>();
  for (const [logicalId, type] of resourceTypes) {
    if (!(type in IAM_TYPES)) continue;
    const nameKey = IAM_TYPES[type];
    const props = (resources[logicalId] as JsonObject).Properties;
    const named = nameKey !== undefined && isObject(props) && props[nameKey] !== undefined;
    required.add(named ? 'CAPABILITY_NAMED_IAM' : 'CAPABILITY_IAM');
    iamResources.add(type);
  }
  if (required.has('CAPABILITY_NAMED_IAM')) required.delete('CAPABILITY_IAM');
  if (transforms.some((t) => t !== 'AWS::LanguageExtensions')) required.add('CAPABILITY_AUTO_EXPAND');
  return {
    body,
    doc,
    description: typeof doc.Description === 'string' ? doc.Description : undefined,
    parameters,
    resourceTypes,
    transforms,
    requiredCapabilities: [...required],
    capabilitiesReason:
      iamResources.size > 0 ? `The following resource(s) require capabilities: [${[...iamResources].join(', ')}]` : undefined,
  };
}

function parameterDeclaration(decl: Json): ParameterDeclaration {
  if (!isObject(decl) || typeof decl.Type !== 'string') {
    throw formatError(`Every Parameters object must contain a Type member.`);
  }
  const type = decl.Type;
  if (!/^(String|Number|List<Number>|CommaDelimitedList|AWS::[A-Za-z0-9:<>]+|List<AWS::[A-Za-z0-9:<>]+>)$/.test(type)) {
    throw formatError(`Unrecognized parameter type: ${type}`);
  }
  const str = (v: Json | undefined): string | undefined =>
    v === undefined || v === null ? undefined : Array.isArray(v) ? v.map(String).join(',') : String(v);
  const num = (v: Json | undefined): number | undefined => (v === undefined || v === null ? undefined : Number(v));
  return {
    type,
    defaultValue: str(decl.Default),
    allowedValues: Array.isArray(decl.AllowedValues) ? decl.AllowedValues.map(String) : undefined,
    allowedPattern: str(decl.AllowedPattern),
    noEcho: String(decl.NoEcho) === 'true',
    description: str(decl.Description),
    constraintDescription: str(decl.ConstraintDescription),
    minLength: num(decl.MinLength),
    maxLength: num(decl.MaxLength),
    minValue: num(decl.MinValue),
    maxValue: num(decl.MaxValue),
  };
}

function dependsOnList(value: Json | undefined): string[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

/** Names a `Fn::Sub` string refers to (without `${!literal}` escapes). */
function subReferences(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(/\$\{([^}]*)\}/g)) {
    const name = match[1].trim();
    if (name.startsWith('!')) continue;
    out.push(name);
  }
  return out;
}

function scanReferences(
  value: Json | undefined,
  parameters: Map<string, ParameterDeclaration>,
  resources: Map<string, string>,
  unresolved: Set<string>,
  self?: string,
): void {
  if (Array.isArray(value)) {
    for (const item of value) scanReferences(item, parameters, resources, unresolved, self);
    return;
  }
  if (!isObject(value)) return;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [key] = keys;
    const arg = value[key];
    if (key === 'Ref' && typeof arg === 'string') {
      if (!parameters.has(arg) && !resources.has(arg) && !PSEUDO.has(arg)) unresolved.add(arg);
      return;
    }
    if (key === 'Fn::GetAtt') {
      const target = Array.isArray(arg) ? arg[0] : typeof arg === 'string' ? arg.split('.')[0] : undefined;
      if (typeof target === 'string' && !resources.has(target)) {
        throw validationError(`Template error: instance of Fn::GetAtt references undefined resource ${target}`);
      }
      if (Array.isArray(arg)) scanReferences(arg.slice(1), parameters, resources, unresolved, self);
      return;
    }
    if (key === 'Fn::Sub') {
      const text = Array.isArray(arg) ? arg[0] : arg;
      const locals = Array.isArray(arg) && isObject(arg[1]) ? arg[1] : {};
      if (typeof text === 'string') {
        for (const name of subReferences(text)) {
          if (name in locals) continue;
          const head = name.includes('.') ? name.split('.')[0] : name;
          if (!parameters.has(head) && !resources.has(head) && !PSEUDO.has(name)) unresolved.add(head);
        }
      }
      if (Array.isArray(arg) && arg[1] !== undefined) scanReferences(arg[1], parameters, resources, unresolved, self);
      return;
    }
  }
  for (const key of keys) scanReferences(value[key], parameters, resources, unresolved, self);
}

/**
 * Effective parameter values of a stack operation: supplied values, previous values where
 * asked for, and defaults.
 * @throws AwsError ValidationError for unknown, missing or invalid parameters.
 */
export function resolveParameterValues(
  info: TemplateInfo,
  inputs: ParameterInput[],
  previous?: Record<string, string>,
): Record<string, string> {
  const unknown = inputs.filter((p) => !info.parameters.has(p.key)).map((p) => p.key);
  if (unknown.length > 0) throw validationError(`Parameters: [${unknown.join(', ')}] do not exist in the template`);
  const supplied = new Map(inputs.map((p) => [p.key, p]));
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const [key, decl] of info.parameters) {
    const input = supplied.get(key);
    let value: string | undefined;
    if (input?.usePreviousValue) {
      if (!previous || !(key in previous)) {
        throw validationError(`Invalid input for parameter key ${key}. Cannot specify usePreviousValue as true for a parameter key not in the previous template`);
      }
      value = previous[key];
    } else if (input && input.value !== undefined) {
      value = input.value;
    } else {
      value = decl.defaultValue;
    }
    if (value === undefined) {
      missing.push(key);
      continue;
    }
    checkParameter(key, decl, value);
    values[key] = value;
  }
  if (missing.length > 0) throw validationError(`Parameters: [${missing.join(', ')}] must have values`);
  return values;
}

function checkParameter(key: string, decl: ParameterDeclaration, value: string): void {
  const fail = (reason: string): never => {
    throw validationError(
      decl.constraintDescription ? `Parameter '${key}' failed to satisfy constraint: ${decl.constraintDescription}` : reason,
    );
  };
  if (decl.type === 'Number' && (value.trim() === '' || !Number.isFinite(Number(value)))) {
    throw validationError(`Parameter '${key}' must be a number.`);
  }
  if (decl.type === 'List<Number>' && value !== '' && value.split(',').some((v) => !Number.isFinite(Number(v.trim())))) {
    throw validationError(`Parameter '${key}' must be a number.`);
  }
  const items = decl.type === 'CommaDelimitedList' || decl.type.startsWith('List<') ? value.split(',').map((v) => v.trim()) : [value];
  for (const item of items) {
    if (decl.allowedValues && !decl.allowedValues.includes(item)) fail(`Parameter '${key}' must be one of AllowedValues`);
    if (decl.allowedPattern !== undefined && !new RegExp(`^(?:${decl.allowedPattern})$`).test(item)) {
      fail(`Parameter '${key}' must match pattern ${decl.allowedPattern}`);
    }
  }
  if (decl.minLength !== undefined && value.length < decl.minLength) {
    fail(`Parameter '${key}' must contain at least ${decl.minLength} characters`);
  }
  if (decl.maxLength !== undefined && value.length > decl.maxLength) {
    fail(`Parameter '${key}' must contain at most ${decl.maxLength} characters`);
  }
  if (decl.minValue !== undefined && Number(value) < decl.minValue) {
    fail(`Parameter '${key}' must be a number not less than ${decl.minValue}`);
  }
  if (decl.maxValue !== undefined && Number(value) > decl.maxValue) {
    fail(`Parameter '${key}' must be a number not greater than ${decl.maxValue}`);
  }
}

/**
 * Checks that the caller acknowledged the capabilities the template needs.
 * @throws AwsError InsufficientCapabilitiesException.
 */
export function checkCapabilities(info: TemplateInfo, granted: string[]): void {
  const missing = info.requiredCapabilities.filter(
    (c) => !granted.includes(c) && !(c === 'CAPABILITY_IAM' && granted.includes('CAPABILITY_NAMED_IAM')),
  );
  if (missing.length > 0) {
    throw new AwsError('InsufficientCapabilitiesException', `Requires capabilities : [${missing.join(', ')}]`, 400);
  }
}

const NO_VALUE = Symbol('AWS::NoValue');
type Value = Json | typeof NO_VALUE;

/**
 * Resolves every intrinsic function of the template: conditions, resources in dependency
 * order (each resource is identified by `env.identify` once its properties are known) and outputs.
 * @throws AwsError ValidationError for references that cannot be resolved.
 */
export function resolveTemplate(info: TemplateInfo, env: ResolveEnvironment): ResolvedTemplate {
  return new Resolver(info, env).run();
}

class Resolver {
  private readonly conditionValues = new Map<string, boolean>();
  private readonly evaluating = new Set<string>();
  private readonly identities = new Map<string, ResourceIdentity>();
  private readonly included = new Set<string>();
  private readonly resources: JsonObject;
  private readonly conditions: JsonObject;
  private readonly mappings: JsonObject;

  constructor(
    private readonly info: TemplateInfo,
    private readonly env: ResolveEnvironment,
  ) {
    this.resources = info.doc.Resources as JsonObject;
    this.conditions = isObject(info.doc.Conditions) ? info.doc.Conditions : {};
    this.mappings = isObject(info.doc.Mappings) ? info.doc.Mappings : {};
  }

  run(): ResolvedTemplate {
    for (const [logicalId] of this.info.resourceTypes) {
      const resource = this.resources[logicalId] as JsonObject;
      if (typeof resource.Condition === 'string' && !this.condition(resource.Condition)) continue;
      this.included.add(logicalId);
    }
    const order = this.order();
    const resolved: ResolvedResource[] = [];
    for (const { logicalId, deps } of order) {
      const resource = this.resources[logicalId] as JsonObject;
      const type = resource.Type as string;
      const props = resource.Properties === undefined ? undefined : this.value(resource.Properties);
      const properties = props === NO_VALUE || props === undefined ? undefined : (props as JsonObject);
      const identity = this.env.identify(logicalId, type, properties);
      this.identities.set(logicalId, identity);
      const metadata = resource.Metadata === undefined ? undefined : this.value(resource.Metadata);
      resolved.push({
        logicalId,
        type,
        properties,
        physicalId: identity.physicalId,
        attributes: identity.attributes,
        dependsOn: deps,
        deletionPolicy: typeof resource.DeletionPolicy === 'string' ? resource.DeletionPolicy : undefined,
        updateReplacePolicy: typeof resource.UpdateReplacePolicy === 'string' ? resource.UpdateReplacePolicy : undefined,
        metadata: metadata === NO_VALUE ? undefined : metadata,
      });
    }
    const outputs: ResolvedOutput[] = [];
    if (isObject(this.info.doc.Outputs)) {
      for (const [key, output] of Object.entries(this.info.doc.Outputs)) {
        const o = output as JsonObject;
        if (typeof o.Condition === 'string' && !this.condition(o.Condition)) continue;
        const value = this.value(o.Value);
        if (value === NO_VALUE) continue;
        const exportName = isObject(o.Export) ? this.value(o.Export.Name) : undefined;
        const description = o.Description === undefined ? undefined : this.value(o.Description);
        outputs.push({
          key,
          value: Array.isArray(value) ? value.map(String).join(',') : String(value),
          description: description === undefined || description === NO_VALUE ? undefined : String(description),
          exportName: exportName === undefined || exportName === NO_VALUE ? undefined : String(exportName),
        });
      }
    }
    return { resources: resolved, outputs };
  }

  /** Included resources in dependency order. */
  private order(): { logicalId: string; deps: string[] }[] {
    const deps = new Map<string, string[]>();
    for (const logicalId of this.included) {
      const resource = this.resources[logicalId] as JsonObject;
      const found = new Set<string>(dependsOnList(resource.DependsOn));
      collectResourceRefs(resource.Properties, this.info.resourceTypes, found);
      collectResourceRefs(resource.Metadata, this.info.resourceTypes, found);
      found.delete(logicalId);
      deps.set(logicalId, [...found].filter((d) => this.included.has(d)));
    }
    const out: { logicalId: string; deps: string[] }[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (id: string, path: string[]): void => {
      const s = state.get(id);
      if (s === 'done') return;
      if (s === 'visiting') {
        const cycle = path.slice(path.indexOf(id));
        throw validationError(`Circular dependency between resources: [${cycle.join(', ')}]`);
      }
      state.set(id, 'visiting');
      for (const dep of deps.get(id) ?? []) visit(dep, [...path, id]);
      state.set(id, 'done');
      out.push({ logicalId: id, deps: deps.get(id) ?? [] });
    };
    for (const id of this.included) visit(id, []);
    return out;
  }

  condition(name: string): boolean {
    const known = this.conditionValues.get(name);
    if (known !== undefined) return known;
    if (!(name in this.conditions)) {
      throw formatError(`Unresolved dependencies [${name}]. Cannot reference resources in the Conditions block of the template`);
    }
    if (this.evaluating.has(name)) throw formatError(`Circular dependency between conditions: [${[...this.evaluating].join(', ')}]`);
    this.evaluating.add(name);
    const result = this.truth(this.conditions[name]);
    this.evaluating.delete(name);
    this.conditionValues.set(name, result);
    return result;
  }

  private truth(expr: Json): boolean {
    if (isObject(expr) && Object.keys(expr).length === 1 && typeof expr.Condition === 'string') {
      return this.condition(expr.Condition);
    }
    const value = this.value(expr);
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    throw validationError('Template error: every Fn::If, Fn::And, Fn::Or and Fn::Not condition must be a boolean');
  }

  private ref(name: string): Value {
    if (name in this.env.parameters) {
      const decl = this.info.parameters.get(name);
      const raw = this.env.parameters[name];
      if (decl && (decl.type === 'CommaDelimitedList' || decl.type.startsWith('List<'))) {
        return raw === '' ? [] : raw.split(',').map((v) => v.trim());
      }
      return raw;
    }
    switch (name) {
      case 'AWS::AccountId':
        return this.env.accountId;
      case 'AWS::Region':
        return this.env.region;
      case 'AWS::StackName':
        return this.env.stackName;
      case 'AWS::StackId':
        return this.env.stackId;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::NotificationARNs':
        return [...this.env.notificationArns];
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    const identity = this.identities.get(name);
    if (identity) return identity.physicalId;
    throw formatError(`Unresolved resource dependencies [${name}] in the Resources block of the template`);
  }

  private getAtt(logicalId: string, attribute: string): Json {
    const identity = this.identities.get(logicalId);
    if (!identity) {
      throw validationError(`Template error: instance of Fn::GetAtt references undefined resource ${logicalId}`);
    }
    if (attribute in identity.attributes) return identity.attributes[attribute];
    return this.env.attribute(this.info.resourceTypes.get(logicalId) ?? '', identity, attribute);
  }

  private str(value: Value, fn: string): string {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw validationError(`Template error: every ${fn} object requires string values`);
  }

  private list(value: Value, fn: string): Json[] {
    if (Array.isArray(value)) return value;
    throw validationError(`Template error: ${fn} requires a list`);
  }

  value(node: Json, locals?: Record<string, Json>): Value {
    if (Array.isArray(node)) {
      const out: Json[] = [];
      for (const item of node) {
        const v = this.value(item, locals);
        if (v !== NO_VALUE) out.push(v);
      }
      return out;
    }
    if (!isObject(node)) return node;
    const keys = Object.keys(node);
    if (keys.length === 1) {
      const key = keys[0];
      if (key === 'Ref' || key.startsWith('Fn::')) return this.intrinsic(key, node[key], locals);
    }
    const out: JsonObject = {};
    for (const key of keys) {
      const v = this.value(node[key], locals);
      if (v !== NO_VALUE) out[key] = v;
    }
    return out;
  }

  private intrinsic(fn: string, arg: Json, locals?: Record<string, Json>): Value {
    switch (fn) {
      case 'Ref': {
        const name = this.value(arg, locals);
        return this.ref(this.str(name, 'Ref'));
      }
      case 'Fn::GetAtt': {
        let parts: Json[];
        if (typeof arg === 'string') {
          const dot = arg.indexOf('.');
          parts = [arg.slice(0, dot), arg.slice(dot + 1)];
        } else parts = this.list(arg, 'Fn::GetAtt');
        const logicalId = this.str(this.value(parts[0], locals), 'Fn::GetAtt');
        const attribute = this.str(this.value(parts[1], locals), 'Fn::GetAtt');
        return this.getAtt(logicalId, attribute);
      }
      case 'Fn::Sub':
        return this.sub(arg, locals);
      case 'Fn::Join': {
        const [delimiter, items] = this.list(arg, 'Fn::Join');
        const resolved = this.list(this.value(items, locals), 'Fn::Join');
        return resolved.map((item) => this.str(item, 'Fn::Join')).join(this.str(delimiter, 'Fn::Join'));
      }
      case 'Fn::Select': {
        const [index, items] = this.list(arg, 'Fn::Select');
        const i = Number(this.value(index, locals));
        const resolved = this.list(this.value(items, locals), 'Fn::Select');
        if (!Number.isInteger(i) || i < 0 || i >= resolved.length) {
          throw validationError(`Template error: Fn::Select cannot select nonexistent value at index ${String(i)}`);
        }
        return resolved[i];
      }
      case 'Fn::Split': {
        const [delimiter, text] = this.list(arg, 'Fn::Split');
        return this.str(this.value(text, locals), 'Fn::Split').split(this.str(delimiter, 'Fn::Split'));
      }
      case 'Fn::If': {
        const [name, whenTrue, whenFalse] = this.list(arg, 'Fn::If');
        return this.condition(this.str(name, 'Fn::If')) ? this.value(whenTrue, locals) : this.value(whenFalse, locals);
      }
      case 'Fn::Equals': {
        const [a, b] = this.list(arg, 'Fn::Equals');
        const va = this.value(a, locals);
        const vb = this.value(b, locals);
        return JSON.stringify(va === NO_VALUE ? null : va) === JSON.stringify(vb === NO_VALUE ? null : vb) ||
          (typeof va !== 'object' && typeof vb !== 'object' && String(va) === String(vb));
      }
      case 'Fn::Not': {
        const [inner] = this.list(arg, 'Fn::Not');
        return !this.truth(inner);
      }
      case 'Fn::And':
        return this.list(arg, 'Fn::And').every((c) => this.truth(c));
      case 'Fn::Or':
        return this.list(arg, 'Fn::Or').some((c) => this.truth(c));
      case 'Fn::FindInMap': {
        const args = this.list(arg, 'Fn::FindInMap');
        const [mapName, top, second] = args.slice(0, 3).map((a) => this.str(this.value(a, locals), 'Fn::FindInMap'));
        const map = this.mappings[mapName];
        const level = isObject(map) ? map[top] : undefined;
        const found = isObject(level) ? level[second] : undefined;
        if (found === undefined) {
          const fallback = isObject(args[3]) ? args[3].DefaultValue : undefined;
          if (fallback !== undefined) return this.value(fallback, locals);
          throw validationError(`Template error: Unable to get mapping for ${mapName}::${top}::${second}`);
        }
        return found;
      }
      case 'Fn::Base64':
        return Buffer.from(this.str(this.value(arg, locals), 'Fn::Base64')).toString('base64');
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((z) => `${this.env.region}${z}`);
      case 'Fn::ImportValue': {
        const name = this.str(this.value(arg, locals), 'Fn::ImportValue');
        const found = this.env.importValue(name);
        if (found === undefined) throw validationError(`No export named ${name} found. Rollback requested by user.`);
        return found;
      }
      case 'Fn::Cidr': {
        const [block, count, bits] = this.list(arg, 'Fn::Cidr').map((a) => this.value(a, locals));
        return cidr(this.str(block, 'Fn::Cidr'), Number(count), Number(bits));
      }
      case 'Fn::Length':
        return this.list(this.value(arg, locals), 'Fn::Length').length;
      case 'Fn::ToJsonString': {
        const v = this.value(arg, locals);
        return JSON.stringify(v === NO_VALUE ? null : v);
      }
      case 'Fn::Transform':
        return arg;
      default:
        throw formatError(`Unrecognized function ${fn}`);
    }
  }

  private sub(arg: Json, locals?: Record<string, Json>): string {
    let text: string;
    let vars: Record<string, Json> = {};
    if (Array.isArray(arg)) {
      text = this.str(arg[0], 'Fn::Sub');
      if (isObject(arg[1])) {
        for (const [k, v] of Object.entries(arg[1])) {
          const resolved = this.value(v, locals);
          if (resolved !== NO_VALUE) vars[k] = resolved;
        }
      }
    } else {
      text = this.str(arg, 'Fn::Sub');
    }
    if (locals) vars = { ...locals, ...vars };
    return text.replace(/\$\{([^}]*)\}/g, (_whole, inner: string) => {
      if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
      const name = inner.trim();
      let value: Value;
      if (name in vars) value = vars[name];
      else if (!PSEUDO.has(name) && name.includes('.') && !(name in this.env.parameters)) {
        const dot = name.indexOf('.');
        value = this.getAtt(name.slice(0, dot), name.slice(dot + 1));
      } else value = this.ref(name);
      if (Array.isArray(value) || value === NO_VALUE || isObject(value)) {
        throw validationError(`Template error: variable ${name} in Fn::Sub expression does not resolve to a string`);
      }
      return String(value);
    });
  }
}

function collectResourceRefs(value: Json | undefined, resources: Map<string, string>, out: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectResourceRefs(item, resources, out);
    return;
  }
  if (!isObject(value)) return;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const arg = value[keys[0]];
    if (keys[0] === 'Ref' && typeof arg === 'string' && resources.has(arg)) out.add(arg);
    if (keys[0] === 'Fn::GetAtt') {
      const target = Array.isArray(arg) ? arg[0] : typeof arg === 'string' ? arg.split('.')[0] : undefined;
      if (typeof target === 'string' && resources.has(target)) out.add(target);
    }
    if (keys[0] === 'Fn::Sub') {
      const text = Array.isArray(arg) ? arg[0] : arg;
      if (typeof text === 'string') {
        for (const name of subReferences(text)) {
          const head = name.split('.')[0];
          if (resources.has(head)) out.add(head);
        }
      }
    }
  }
  for (const key of keys) collectResourceRefs(value[key], resources, out);
}

function cidr(block: string, count: number, bits: number): string[] {
  const [address, prefixText] = block.split('/');
  const prefix = Number(prefixText);
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255) || !Number.isInteger(prefix)) {
    throw validationError(`Template error: Fn::Cidr requires a valid IPv4 CIDR block, got ${block}`);
  }
  const base = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const newPrefix = 32 - bits;
  if (newPrefix < prefix) throw validationError('Template error: Fn::Cidr subnet size is larger than the block');
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const addr = (base + i * 2 ** bits) >>> 0;
    out.push(`${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}/${newPrefix}`);
  }
  return out;
}

/** Offset of the first character where `text` stops being valid JSON (for error positions). */
function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const string = (): void => {
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if (text.charCodeAt(i) < 0x20) fail();
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail();
      }
    } else if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail();
      }
    } else if (ch === '"') string();
    else if (ch === 't') literal('true');
    else if (ch === 'f') literal('false');
    else if (ch === 'n') literal('null');
    else {
      const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
      if (!match || match[0].length === 0) fail();
      else i += match[0].length;
    }
  };
  try {
    value();
    ws();
    return i;
  } catch (offset) {
    return typeof offset === 'number' ? offset : 0;
  }
}
