/**
 * The writer factory a node injects into its standby (standby/writer-port.ts): starts a
 * PrimaryWriter with the promotion's stores and hooks plus the node's own writer
 * settings. This is where the standby and primary roles meet, so `standby/` imports
 * neither `primary/` nor anything that does.
 */
import { PrimaryWriter, type PrimaryWriterOptions } from '../primary/primary-writer.js';
import type { OplogError } from '../core/errors.js';
import type { WriterFactory, WriterStartOptions } from '../standby/writer-port.js';

/** Writer settings the node chooses (the promotion supplies stores, compression and hooks). */
export type PrimaryWriterSettings = Omit<PrimaryWriterOptions, keyof WriterStartOptions | 'afterFence'> & {
  /** Called too when the writer stops for good (after the promotion's own hook). */
  readonly onStopped?: (error: OplogError) => void;
};

/** A factory starting PrimaryWriters with `settings`; both onStopped hooks are called. */
export function primaryWriterFactory(settings: PrimaryWriterSettings = {}): WriterFactory<PrimaryWriter> {
  const { onStopped, ...rest } = settings;
  return (options) =>
    PrimaryWriter.start({
      ...rest,
      ...options,
      onStopped: (error) => {
        options.onStopped(error);
        onStopped?.(error);
      },
    });
}

/** `PrimaryWriter.start` with default settings, as a WriterFactory. */
export const startPrimaryWriter: WriterFactory<PrimaryWriter> = primaryWriterFactory();
