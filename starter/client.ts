import { Client, Connection } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import { connectionOptions, type TemporalSettings } from '../common/temporal-settings';

/** A Temporal client and what closes it. */
export interface TemporalClientHandle {
  client: Client;
  settings: TemporalSettings;
  close(): Promise<void>;
}

/**
 * Connects to Temporal with the settings' address, namespace and credentials.
 * @throws the SDK's connection error when the server cannot be reached.
 */
export async function connectClient(settings: TemporalSettings): Promise<TemporalClientHandle> {
  const connection = await Connection.connect({ ...connectionOptions(settings, readFileSync), connectTimeout: '10s' });
  return { client: new Client({ connection, namespace: settings.namespace }), settings, close: () => connection.close() };
}

/** Link to a workflow in the Temporal UI. */
export function workflowUrl(settings: TemporalSettings, workflowId: string): string {
  return `${settings.uiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
