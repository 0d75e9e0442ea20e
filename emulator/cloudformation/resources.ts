import type { Json, JsonObject } from '../json';
import { hex, suffix, uuid } from '../random';
import type { ResourceIdentity } from '../template';

/**
 * Physical ids and `Fn::GetAtt` attributes of resources, shaped like the ones AWS hands out.
 * No real resource exists behind them except pipelines and S3 buckets (see the engine's provisioner).
 */

/** Where a stack lives, for ARNs and generated names. */
export interface ResourceContext {
  stackName: string;
  region: string;
  accountId: string;
}

/** What an existing resource of the stack looks like, so an update keeps its identity. */
export interface ExistingResource extends ResourceIdentity {
  type: string;
  properties?: JsonObject;
}

/** Properties that name a resource; changing one replaces the resource. */
const NAME_PROPERTY: Record<string, string> = {
  'AWS::CodePipeline::Pipeline': 'Name',
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::User': 'UserName',
  'AWS::IAM::Group': 'GroupName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::InstanceProfile': 'InstanceProfileName',
  'AWS::IAM::Policy': 'PolicyName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::ECR::Repository': 'RepositoryName',
  'AWS::ElasticBeanstalk::Application': 'ApplicationName',
  'AWS::ElasticBeanstalk::Environment': 'EnvironmentName',
  'AWS::SSM::Parameter': 'Name',
  'AWS::CodeBuild::Project': 'Name',
  'AWS::ECS::Cluster': 'ClusterName',
  'AWS::ECS::Service': 'ServiceName',
  'AWS::Events::Rule': 'Name',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
};

const EC2_PREFIX: Record<string, string> = {
  'AWS::EC2::VPC': 'vpc-',
  'AWS::EC2::Subnet': 'subnet-',
  'AWS::EC2::SecurityGroup': 'sg-',
  'AWS::EC2::Instance': 'i-',
  'AWS::EC2::InternetGateway': 'igw-',
  'AWS::EC2::RouteTable': 'rtb-',
  'AWS::EC2::NatGateway': 'nat-',
  'AWS::EC2::LaunchTemplate': 'lt-',
  'AWS::EC2::NetworkAcl': 'acl-',
  'AWS::EC2::VPCEndpoint': 'vpce-',
  'AWS::EC2::Volume': 'vol-',
};

/** The property that names a resource of this type, if any. */
export function nameProperty(type: string): string | undefined {
  if (type in NAME_PROPERTY) return NAME_PROPERTY[type];
  return undefined;
}

/** True when changing from `before` to `after` properties replaces the resource (its name changes). */
export function requiresReplacement(type: string, before: JsonObject | undefined, after: JsonObject | undefined): boolean {
  const key = nameProperty(type);
  if (!key) return false;
  return JSON.stringify(before?.[key]) !== JSON.stringify(after?.[key]);
}

function serviceOf(type: string): string {
  const parts = type.split('::');
  return (parts[1] ?? 'cloudformation').toLowerCase();
}

function kindOf(type: string): string {
  const parts = type.split('::');
  return (parts[2] ?? 'resource').toLowerCase();
}

function generatedName(ctx: ResourceContext, logicalId: string, max: number, lower = false): string {
  const tail = `-${suffix(12, lower)}`;
  let head = `${ctx.stackName}-${logicalId}`;
  if (lower) head = head.toLowerCase();
  if (head.length + tail.length > max) head = head.slice(0, max - tail.length);
  return head + tail;
}

/**
 * Gives a resource its physical id and attributes: the existing ones when the resource keeps
 * its identity, new ones when it is created or replaced.
 */
export function identifyResource(
  ctx: ResourceContext,
  logicalId: string,
  type: string,
  properties: JsonObject | undefined,
  existing: ExistingResource | undefined,
): ResourceIdentity {
  if (existing && existing.type === type && !requiresReplacement(type, existing.properties, properties)) {
    return { physicalId: existing.physicalId, attributes: { ...existing.attributes, ...dynamicAttributes(type, properties) } };
  }
  return newIdentity(ctx, logicalId, type, properties);
}

function dynamicAttributes(type: string, properties: JsonObject | undefined): Record<string, Json> {
  if (type === 'AWS::SSM::Parameter' && properties) return { Type: properties.Type ?? 'String', Value: properties.Value ?? '' };
  return {};
}

function newIdentity(ctx: ResourceContext, logicalId: string, type: string, properties: JsonObject | undefined): ResourceIdentity {
  const { region, accountId } = ctx;
  const key = nameProperty(type);
  const given = key && properties && typeof properties[key] === 'string' ? (properties[key] as string) : undefined;
  const arn = (resource: string): string => `arn:aws:${serviceOf(type)}:${region}:${accountId}:${resource}`;
  switch (type) {
    case 'AWS::CodePipeline::Pipeline': {
      const name = given ?? generatedName(ctx, logicalId, 100);
      return { physicalId: name, attributes: { Version: '1' } };
    }
    case 'AWS::IAM::Role': {
      const name = given ?? generatedName(ctx, logicalId, 64);
      const path = typeof properties?.Path === 'string' ? properties.Path : '/';
      return {
        physicalId: name,
        attributes: { Arn: `arn:aws:iam::${accountId}:role${path}${name}`, RoleId: `AROA${suffix(17)}` },
      };
    }
    case 'AWS::IAM::User': {
      const name = given ?? generatedName(ctx, logicalId, 64);
      return { physicalId: name, attributes: { Arn: `arn:aws:iam::${accountId}:user/${name}` } };
    }
    case 'AWS::IAM::Group': {
      const name = given ?? generatedName(ctx, logicalId, 128);
      return { physicalId: name, attributes: { Arn: `arn:aws:iam::${accountId}:group/${name}` } };
    }
    case 'AWS::IAM::InstanceProfile': {
      const name = given ?? generatedName(ctx, logicalId, 128);
      return { physicalId: name, attributes: { Arn: `arn:aws:iam::${accountId}:instance-profile/${name}` } };
    }
    case 'AWS::IAM::ManagedPolicy': {
      const name = given ?? generatedName(ctx, logicalId, 128);
      const policyArn = `arn:aws:iam::${accountId}:policy/${name}`;
      return { physicalId: policyArn, attributes: { PolicyArn: policyArn, PolicyName: name, PolicyId: `ANPA${suffix(17)}` } };
    }
    case 'AWS::IAM::Policy': {
      const name = `${ctx.stackName.slice(0, 5)}-${logicalId.slice(0, 5)}-${suffix(12)}`;
      return { physicalId: name, attributes: { Id: name } };
    }
    case 'AWS::S3::Bucket': {
      const name = given ?? generatedName(ctx, logicalId, 63, true);
      return {
        physicalId: name,
        attributes: {
          Arn: `arn:aws:s3:::${name}`,
          DomainName: `${name}.s3.amazonaws.com`,
          RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
          DualStackDomainName: `${name}.s3.dualstack.${region}.amazonaws.com`,
          WebsiteURL: `http://${name}.s3-website-${region}.amazonaws.com`,
        },
      };
    }
    case 'AWS::SNS::Topic': {
      const name = given ?? generatedName(ctx, logicalId, 256);
      const topicArn = arn(name);
      return { physicalId: topicArn, attributes: { TopicArn: topicArn, TopicName: name } };
    }
    case 'AWS::SQS::Queue': {
      const name = given ?? generatedName(ctx, logicalId, 80);
      const url = `https://sqs.${region}.amazonaws.com/${accountId}/${name}`;
      return { physicalId: url, attributes: { Arn: arn(name), QueueName: name, QueueUrl: url } };
    }
    case 'AWS::Lambda::Function': {
      const name = given ?? generatedName(ctx, logicalId, 64);
      return { physicalId: name, attributes: { Arn: arn(`function:${name}`) } };
    }
    case 'AWS::Logs::LogGroup': {
      const name = given ?? generatedName(ctx, logicalId, 512);
      return { physicalId: name, attributes: { Arn: `${arn(`log-group:${name}`)}:*` } };
    }
    case 'AWS::KMS::Key': {
      const id = uuid();
      return { physicalId: id, attributes: { Arn: arn(`key/${id}`), KeyId: id } };
    }
    case 'AWS::DynamoDB::Table': {
      const name = given ?? generatedName(ctx, logicalId, 255);
      const tableArn = arn(`table/${name}`);
      return { physicalId: name, attributes: { Arn: tableArn, StreamArn: `${tableArn}/stream/${new Date().toISOString()}` } };
    }
    case 'AWS::ECR::Repository': {
      const name = given ?? generatedName(ctx, logicalId, 256, true);
      return {
        physicalId: name,
        attributes: { Arn: arn(`repository/${name}`), RepositoryUri: `${accountId}.dkr.ecr.${region}.amazonaws.com/${name}` },
      };
    }
    case 'AWS::ElasticBeanstalk::Environment': {
      const name = given ?? `e-${suffix(10, true)}`;
      return {
        physicalId: name,
        attributes: { EndpointURL: `awseb-e-${suffix(10, true)}-stack-awsebloa-${suffix(12)}-${hex(9)}.${region}.elb.amazonaws.com` },
      };
    }
    case 'AWS::ElasticBeanstalk::ApplicationVersion':
      return { physicalId: `${ctx.stackName}-${logicalId}-${suffix(12)}`.toLowerCase(), attributes: {} };
    case 'AWS::EC2::SecurityGroup': {
      const id = `sg-${hex(17)}`;
      return { physicalId: id, attributes: { GroupId: id, VpcId: properties?.VpcId ?? `vpc-${hex(17)}` } };
    }
    case 'AWS::EC2::VPC': {
      const id = `vpc-${hex(17)}`;
      return {
        physicalId: id,
        attributes: { VpcId: id, CidrBlock: properties?.CidrBlock ?? '10.0.0.0/16', DefaultSecurityGroup: `sg-${hex(17)}` },
      };
    }
    case 'AWS::EC2::Subnet': {
      const id = `subnet-${hex(17)}`;
      return { physicalId: id, attributes: { SubnetId: id, AvailabilityZone: `${region}a`, VpcId: properties?.VpcId ?? '' } };
    }
    case 'AWS::EC2::Instance': {
      const id = `i-${hex(17)}`;
      const ip = `10.0.${Math.floor(Math.random() * 255)}.${Math.floor(Math.random() * 255)}`;
      return {
        physicalId: id,
        attributes: { PrivateIp: ip, PrivateDnsName: `ip-${ip.replace(/\./g, '-')}.ec2.internal`, AvailabilityZone: `${region}a` },
      };
    }
    case 'AWS::CloudFormation::WaitConditionHandle':
      return { physicalId: `https://cloudformation-waitcondition-${region}.s3.amazonaws.com/${suffix(20)}`, attributes: {} };
    case 'AWS::SSM::Parameter': {
      const name = given ?? `CFN-${logicalId}-${suffix(12, false)}`;
      return { physicalId: name, attributes: dynamicAttributes(type, properties) };
    }
  }
  if (type in EC2_PREFIX) return { physicalId: `${EC2_PREFIX[type]}${hex(17)}`, attributes: {} };
  const name = given ?? generatedName(ctx, logicalId, 128);
  return { physicalId: name, attributes: { Arn: arn(`${kindOf(type)}/${name}`) } };
}

/** A plausible value for an attribute the type's identity does not list. */
export function genericAttribute(ctx: ResourceContext, type: string, identity: ResourceIdentity, name: string): Json {
  if (name === 'Arn' || name.endsWith('Arn')) {
    return `arn:aws:${serviceOf(type)}:${ctx.region}:${ctx.accountId}:${kindOf(type)}/${identity.physicalId}`;
  }
  if (name.endsWith('Name') || name.endsWith('Id')) return identity.physicalId;
  return `${identity.physicalId}.${name}`;
}
