import { createActivities, type AwsClients } from '../../activities';
import type { PolicySettings } from '../../common/policy';
import { newAttempt } from './harness';

/**
 * Activity tier, `getPolicy`: the worker's settings decide an environment's rules; the repo can
 * add protection, never remove it. It asks nothing of AWS, so the clients here fail if touched.
 */

const untouchable: AwsClients = {
  cloudFormation: () => {
    throw new Error('getPolicy must not call CloudFormation');
  },
  codePipeline: () => {
    throw new Error('getPolicy must not call CodePipeline');
  },
  s3: () => {
    throw new Error('getPolicy must not call S3');
  },
};

function activities(policy: Partial<PolicySettings> = {}) {
  return createActivities({
    aws: untouchable,
    policy: { protectedEnvironments: ['prod'], approvalWindowMs: 3_600_000, allowSelfApproval: false, selfHealEnvironments: ['dev'], ...policy },
    timing: { minMs: 10, maxMs: 10 },
    defaultRegion: 'eu-west-1',
  });
}

describe('getPolicy', () => {
  it('protects the environments the worker lists, and those the repo protects; self-heal as the worker lists it', async () => {
    const { getPolicy } = activities();
    expect(await newAttempt().run(getPolicy, { environment: 'prod', repoProtected: false })).toEqual({
      protected: true,
      approvalWindowMs: 3_600_000,
      allowSelfApproval: false,
      selfHeal: false,
      region: 'eu-west-1',
    });
    expect(await newAttempt().run(getPolicy, { environment: 'dev', repoProtected: false })).toMatchObject({ protected: false, selfHeal: true });
    expect(await newAttempt().run(getPolicy, { environment: 'qa', repoProtected: true })).toMatchObject({ protected: true, selfHeal: false });
    // The repo cannot lift the worker's protection.
    expect(await newAttempt().run(getPolicy, { environment: 'prod', repoProtected: false })).toMatchObject({ protected: true });
  });

  it('uses the repo\'s region when it names one, else the worker\'s default', async () => {
    const { getPolicy } = activities();
    expect((await newAttempt().run(getPolicy, { environment: 'dev', repoProtected: false, region: 'ap-southeast-2' })).region).toBe('ap-southeast-2');
    expect((await newAttempt().run(getPolicy, { environment: 'dev', repoProtected: false })).region).toBe('eu-west-1');
  });

  it('`*` protects and self-heals every environment; self-approval follows the worker setting', async () => {
    const { getPolicy } = activities({ protectedEnvironments: ['*'], selfHealEnvironments: ['*'], allowSelfApproval: true, approvalWindowMs: 60_000 });
    expect(await newAttempt().run(getPolicy, { environment: 'featureX', repoProtected: false })).toEqual({
      protected: true,
      approvalWindowMs: 60_000,
      allowSelfApproval: true,
      selfHeal: true,
      region: 'eu-west-1',
    });
    const none = activities({ protectedEnvironments: [], selfHealEnvironments: [] });
    expect(await newAttempt().run(none.getPolicy, { environment: 'prod', repoProtected: false })).toMatchObject({ protected: false, selfHeal: false });
  });
});
