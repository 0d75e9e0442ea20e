import { Connection } from '@temporalio/client';

describe('the shared Temporal dev server', () => {
  it('is reachable and has the project search attributes registered', async () => {
    const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
    try {
      const response = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      expect(Object.keys(response.customAttributes ?? {})).toEqual(
        expect.arrayContaining(['Environment', 'AppVersion', 'GitCommit', 'DeployPhase', 'SyncStatus']),
      );
    } finally {
      await connection.close();
    }
  });
});
