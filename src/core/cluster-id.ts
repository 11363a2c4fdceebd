import { InvalidClusterIdError } from './errors.js';

const CLUSTER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Returns `clusterId` when it is safe to embed in etcd keys, Kafka topic names and file
 * paths; throws {@link InvalidClusterIdError} otherwise. Must run before any key is built.
 */
export function validateClusterId(clusterId: unknown): string {
  if (typeof clusterId !== 'string' || !CLUSTER_ID_PATTERN.test(clusterId) || clusterId.includes('..')) {
    throw new InvalidClusterIdError(typeof clusterId === 'string' ? clusterId : String(clusterId));
  }
  return clusterId;
}
