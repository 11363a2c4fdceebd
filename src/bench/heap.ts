/**
 * Memory figures for the growth scenario: a full garbage collection, then what the
 * process holds. `oplog bench` is not started with `--expose-gc`, so V8's flag is set
 * at run time and its `gc` taken from a fresh context (where V8 installs it). Without
 * a GC the figures would include whatever garbage happened to be left: a measurement
 * that cannot collect first is refused, not reported.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface HeapFigures {
  /** V8 heap in use (objects, strings, bigints, Map tables). */
  readonly heapUsedBytes: number;
  /** Memory of ArrayBuffers and Buffers (outside the V8 heap). */
  readonly arrayBuffersBytes: number;
}

let gcFunction: (() => void) | undefined;

/** V8's gc(): the global one when the process has it, else exposed now. Throws when V8 offers none. */
export function fullGc(): void {
  if (gcFunction === undefined) {
    const global = (globalThis as { gc?: unknown }).gc;
    if (typeof global === 'function') gcFunction = global as () => void;
    else {
      setFlagsFromString('--expose-gc');
      const exposed: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
      if (typeof exposed !== 'function') throw new Error('bench: V8 gc() cannot be exposed in this process');
      gcFunction = exposed as () => void;
    }
  }
  // Twice: objects freed by the first pass's finalizers go in the second.
  gcFunction();
  gcFunction();
}

/** After a full GC. */
export function heapFigures(): HeapFigures {
  fullGc();
  const usage = process.memoryUsage();
  return { heapUsedBytes: usage.heapUsed, arrayBuffersBytes: usage.arrayBuffers };
}
