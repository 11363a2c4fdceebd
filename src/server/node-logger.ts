/**
 * A served node's logger (DESIGN.md "Operating": logs with cluster, role, epoch and
 * seq; repeated warnings rate-limited). Over the root logger, which binds `cluster`
 * and `node` (src/cli/serve.ts), every line gets the node's `role` as it is when the
 * line is written — `primary` while this node's writer runs, else `standby` — and,
 * while it writes, its `epoch`; they are read per line, so a line is never stamped
 * with a role the node has left. Repeated warnings fold (src/core/warning-folder.ts):
 * one line per warning per `logging.warningIntervalMs`, with the count of what was
 * folded; a timer (every interval) logs folds no later warning reported, so a count is
 * out within two intervals of the first warning it counts, and close() logs what is
 * still folded.
 */
import type { Logger } from '../core/telemetry.js';
import { FoldingLogger } from '../core/warning-folder.js';

/** What a line says about the node; `epoch` only while it writes. */
export interface NodeLogContext {
  readonly role: 'primary' | 'standby';
  readonly epoch?: bigint;
}

export interface NodeLoggerOptions {
  /** One warning at most once per this many ms; 0: every warning is logged. */
  readonly warningIntervalMs: number;
  /** Default Date.now. */
  readonly nowMs?: () => number;
}

export class NodeLogger implements Logger {
  /** Every node starts as a standby (service.ts): true until bind() says otherwise. */
  private context: () => NodeLogContext = () => ({ role: 'standby' });
  private readonly folding: FoldingLogger;
  private readonly timer: ReturnType<typeof setInterval> | undefined;

  constructor(root: Logger, options: NodeLoggerOptions) {
    const stamped: Logger = {
      debug: (fields, message) => root.debug(this.stamp(fields), message),
      info: (fields, message) => root.info(this.stamp(fields), message),
      warn: (fields, message) => root.warn(this.stamp(fields), message),
      error: (fields, message) => root.error(this.stamp(fields), message),
    };
    const intervalMs = options.warningIntervalMs;
    this.folding = new FoldingLogger(stamped, { intervalMs, nowMs: options.nowMs ?? Date.now });
    if (intervalMs > 0) {
      this.timer = setInterval(() => this.folding.flushExpired(), intervalMs);
      this.timer.unref();
    }
  }

  /** Where role and epoch come from from now on (the node, once it is built). */
  bind(context: () => NodeLogContext): void {
    this.context = context;
  }

  debug(fields: object, message: string): void {
    this.folding.debug(fields, message);
  }

  info(fields: object, message: string): void {
    this.folding.info(fields, message);
  }

  warn(fields: object, message: string): void {
    this.folding.warn(fields, message);
  }

  error(fields: object, message: string): void {
    this.folding.error(fields, message);
  }

  /** Logs every warning still folded and stops the timer; lines after it still pass. */
  close(): void {
    clearInterval(this.timer);
    this.folding.flush();
  }

  /** The node's role and epoch first, so a line's own fields say more where they name them. */
  private stamp(fields: object): object {
    const { role, epoch } = this.context();
    return epoch === undefined ? { role, ...fields } : { role, epoch: epoch.toString(), ...fields };
  }
}
