/**
 * Bootstrap from a peer (DESIGN.md "The service"): fetches a peer's newest snapshot
 * (`GET /v1/snapshot`: the stored body, its manifest in the `Oplog-Snapshot-Manifest`
 * header) into this node's snapshot store, which checks the cluster, size and checksum
 * before writing it. The caller installs it like a local one.
 */
import { MalformedError, StoreUnavailableError } from '../core/errors.js';
import {
  parseManifest,
  SNAPSHOT_RAW_BYTES_MAX,
  type FileSnapshotStore,
  type SnapshotManifest,
} from '../snapshot/snapshot-store.js';

/** The stored manifest, or undefined when the peer has no snapshot (404). */
export async function fetchPeerSnapshot(
  peer: string,
  snapshots: FileSnapshotStore,
  clusterId: string,
  token: string | undefined,
): Promise<SnapshotManifest | undefined> {
  const url = new URL('/v1/snapshot', peer);
  let response: Response;
  try {
    response = await fetch(url, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(120_000),
    });
  } catch (cause) {
    throw new StoreUnavailableError('peer snapshot', { url: url.href }, { cause });
  }
  if (response.status === 404) return undefined;
  if (!response.ok)
    throw new StoreUnavailableError('peer snapshot', { url: url.href, status: String(response.status) });
  const header = response.headers.get('oplog-snapshot-manifest');
  if (header === null) throw new MalformedError(`snapshot from ${url.href} (no manifest header)`);
  const manifest = parseManifest(header, url.href);
  if (manifest.clusterId !== clusterId)
    throw new MalformedError(`snapshot from ${url.href} (cluster ${manifest.clusterId}, not ${clusterId})`);
  if (manifest.bodyBytes > SNAPSHOT_RAW_BYTES_MAX)
    throw new MalformedError(`snapshot from ${url.href} (body too large)`);
  const body = new Uint8Array(await response.arrayBuffer());
  return snapshots.importStored(manifest, body);
}
