import { parseTemplate, resolveParameterValues, resolveTemplate, type ResolveEnvironment } from '../../emulator/template';

function environment(parameters: Record<string, string>, exports: Record<string, string> = {}): ResolveEnvironment {
  return {
    stackName: 'unit',
    stackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/unit/0000',
    region: 'eu-west-1',
    accountId: '111122223333',
    notificationArns: [],
    parameters,
    importValue: (name) => exports[name],
    identify: (logicalId) => ({ physicalId: `phys-${logicalId}`, attributes: { Arn: `arn:test:${logicalId}` } }),
    attribute: (_type, identity, name) => `${identity.physicalId}.${name}`,
  };
}

function outputs(body: string, parameters: Record<string, string> = {}, exports: Record<string, string> = {}): Record<string, string> {
  const info = parseTemplate(body);
  const resolved = resolveTemplate(info, environment(resolveParameterValues(info, Object.entries(parameters).map(([key, value]) => ({ key, value }))), exports));
  return Object.fromEntries(resolved.outputs.map((o) => [o.key, o.value]));
}

describe('templates', () => {
  it('reads JSON and YAML alike, with the short and the long form of every intrinsic', () => {
    const json = JSON.stringify({
      Resources: { A: { Type: 'X::Y::Z' } },
      Outputs: { Out: { Value: { 'Fn::Join': ['/', [{ Ref: 'A' }, { 'Fn::GetAtt': ['A', 'Arn'] }, { Ref: 'AWS::Region' }]] } } },
    });
    expect(outputs(json)).toEqual({ Out: 'phys-A/arn:test:A/eu-west-1' });
    const yaml = `Resources:
  A: { Type: X::Y::Z }
Outputs:
  Out: { Value: !Join ['/', [!Ref A, !GetAtt A.Arn, !Ref 'AWS::Region']] }
  Long:
    Value:
      Fn::Sub:
        - '\${Name}-\${A.Other}-\${!NotReplaced}-#{variables.Kept}'
        - Name: !Select [0, !Split [',', 'first,second']]
`;
    expect(outputs(yaml)).toEqual({ Out: 'phys-A/arn:test:A/eu-west-1', Long: 'first-phys-A.Other-${NotReplaced}-#{variables.Kept}' });
  });

  it('evaluates conditions, mappings with defaults, imports, CIDRs and removes AWS::NoValue', () => {
    const body = `Parameters:
  Env: { Type: String }
Mappings:
  M: { prod: { Size: large } }
Conditions:
  Prod: !Equals [!Ref Env, prod]
  Small: !Not [!Condition Prod]
Resources:
  A:
    Type: X::Y::Z
    Properties:
      Keep: 1
      Drop: !If [Prod, !Ref 'AWS::NoValue', dropped]
  OnlyProd: { Type: X::Y::Z, Condition: Prod }
Outputs:
  Size: { Value: !FindInMap [M, !Ref Env, Size, { DefaultValue: tiny }] }
  Imported: { Value: !ImportValue shared-vpc }
  Subnets: { Value: !Join [' ', !Cidr ['10.0.0.0/16', 3, 8]] }
  Small: { Value: yes, Condition: Small }
`;
    expect(outputs(body, { Env: 'prod' }, { 'shared-vpc': 'vpc-1' })).toEqual({
      Size: 'large',
      Imported: 'vpc-1',
      Subnets: '10.0.0.0/24 10.0.1.0/24 10.0.2.0/24',
    });
    expect(outputs(body, { Env: 'dev' }, { 'shared-vpc': 'vpc-1' })).toMatchObject({ Size: 'tiny', Small: 'yes' });
    const info = parseTemplate(body);
    const prod = resolveTemplate(info, environment({ Env: 'prod' }, { 'shared-vpc': 'v' }));
    expect(prod.resources.map((r) => [r.logicalId, r.properties])).toEqual([
      ['A', { Keep: 1 }],
      ['OnlyProd', undefined],
    ]);
    expect(() => outputs(body, { Env: 'prod' })).toThrow('No export named shared-vpc found.');
  });

  it('orders resources by their dependencies and refuses cycles', () => {
    const info = parseTemplate(`Resources:
  C: { Type: T::T::T, Properties: { P: !Sub '\${B}' } }
  B: { Type: T::T::T, Properties: { P: !GetAtt A.Arn } }
  A: { Type: T::T::T, DependsOn: [] }
  D: { Type: T::T::T, DependsOn: C }
`);
    expect(resolveTemplate(info, environment({})).resources.map((r) => r.logicalId)).toEqual(['A', 'B', 'C', 'D']);
    const cyclic = parseTemplate(`Resources:
  A: { Type: T::T::T, Properties: { P: !Ref B } }
  B: { Type: T::T::T, Properties: { P: !Ref A } }
`);
    expect(() => resolveTemplate(cyclic, environment({}))).toThrow(/^Circular dependency between resources: \[/);
  });

  it('says what is wrong with a template as CloudFormation does', () => {
    expect(() => parseTemplate('Resources:\n  A: { Type: T::T::T, Properties: { P: !GetAtt Nope.Arn } }\n')).toThrow(
      'Template error: instance of Fn::GetAtt references undefined resource Nope',
    );
    expect(() => parseTemplate('Resources:\n  A: { Properties: {} }\n')).toThrow(
      'Template format error: [/Resources/A] Every Resources object must contain a Type member.',
    );
    expect(() => parseTemplate('Resources:\n  A: { Type: T::T::T }\nBogus: 1\n')).toThrow('Invalid template property or properties [Bogus]');
    expect(() => parseTemplate('Resources:\n  A: { Type: T::T::T }\n  A: { Type: T::T::T }\n')).toThrow(/^Template format error: YAML not well-formed/);
    const info = parseTemplate('Parameters:\n  N: { Type: Number, MinValue: 2, ConstraintDescription: at least two }\nResources:\n  A: { Type: T::T::T }\n');
    expect(() => resolveParameterValues(info, [{ key: 'N', value: '1' }])).toThrow("Parameter 'N' failed to satisfy constraint: at least two");
    expect(() => resolveParameterValues(info, [{ key: 'N', usePreviousValue: true }])).toThrow(/Cannot specify usePreviousValue/);
    expect(resolveParameterValues(info, [{ key: 'N', usePreviousValue: true }], { N: '5' })).toEqual({ N: '5' });
  });
});
