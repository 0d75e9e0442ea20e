import { collectDetails, createStateCache } from '../../starter/status';
import { fakeClient, idleState, TEMPORAL } from './fakes';

/**
 * A server reads every environment's status again and again: with a state cache, only the
 * workflows whose search attributes moved, and the few states held longest, are queried.
 */
describe('status reads with a state cache', () => {
  const states = Array.from({ length: 100 }, (_, i) => idleState(`env-${String(i).padStart(3, '0')}`, '1.0.0'));

  it('queries every workflow once, then only those whose attributes moved and the oldest few', async () => {
    const fake = fakeClient(states);
    const cache = createStateCache({ readAgain: 5 });
    const read = () => collectDetails({ client: fake.client, settings: TEMPORAL, states: cache });

    await read();
    expect(fake.calls.queries).toHaveLength(100);

    fake.calls.queries.length = 0;
    const again = await read();
    expect(fake.calls.queries).toEqual(['cfn-gitops/env-000', 'cfn-gitops/env-001', 'cfn-gitops/env-002', 'cfn-gitops/env-003', 'cfn-gitops/env-004']);
    expect(again.every((d) => d.source === 'query' && d.phase === 'Idle')).toBe(true);

    // A deployment starts in env-050: its DeployPhase moves, so its state is read again, and shown.
    fake.calls.queries.length = 0;
    states[50] = { ...states[50]!, phase: 'RunningPipeline' };
    const moved = await read();
    expect(fake.calls.queries).toEqual(['cfn-gitops/env-005', 'cfn-gitops/env-006', 'cfn-gitops/env-007', 'cfn-gitops/env-008', 'cfn-gitops/env-009', 'cfn-gitops/env-050']);
    expect(moved.find((d) => d.environment === 'env-050')).toMatchObject({ phase: 'RunningPipeline', syncStatus: 'Progressing' });
  });

  it('without a cache, as the CLI reads, queries every workflow each time', async () => {
    const fake = fakeClient(states.slice(0, 10));
    await collectDetails({ client: fake.client, settings: TEMPORAL });
    await collectDetails({ client: fake.client, settings: TEMPORAL });
    expect(fake.calls.queries).toHaveLength(20);
  });
});
