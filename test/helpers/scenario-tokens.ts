/** The token syntax the applier's and the standby core's golden scenarios share. */
import type { Entry, SeqRange } from '../../src/core/types.js';
import { epoch, seq } from '../../src/core/types.js';

/** `12` or `12@3`: the entry at seq 12 (of epoch 3; default 1), a one-byte put. */
export function entry(token: string): Entry {
  const [s, e] = token.split('@');
  return {
    seq: seq(BigInt(s!)),
    epoch: epoch(BigInt(e ?? '1')),
    ts: 0,
    type: 'put',
    key: `k${s}`,
    value: new Uint8Array([1]),
    checksum: 0n,
  };
}

/** Ranges as a trace writes them: `5`, `5..9`, comma-separated. */
export const ranges = (rs: readonly SeqRange[]) =>
  rs.map((r) => (r.fromSeq === r.toSeq ? `${r.fromSeq}` : `${r.fromSeq}..${r.toSeq}`)).join(',');
