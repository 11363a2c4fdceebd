/**
 * The node supervisor (DESIGN.md "The service"): owns one node's roles. Started as
 * `primary` it runs a writer (and, with an election, takes the leader key over any
 * stale holder: it has fenced every store); started as `standby` it runs a Standby into
 * which it injects the writer factory, so promotion builds a writer without `standby/`
 * knowing any role, and, with an election, automatic failover (auto-failover.ts).
 *
 * It publishes one NodeStatus and typed events (node-events.ts): the standby's state
 * changes, skips, fences, corrupt records and loop failures, republished, plus the
 * writer's stop (either role), a failed failover attempt (`loop-failed`, loop
 * `failover`) and, for a started primary, its own state changes and fence.
 */
import { FencedError, PromotionRefusedError, type OplogError } from '../core/errors.js';
import type { Compression } from '../core/compression.js';
import type { Epoch } from '../core/types.js';
import type { PrimaryWriter } from '../primary/primary-writer.js';
import type { Election } from '../stores/election.js';
import { Standby, type StandbyOptions } from '../standby/standby.js';
import type { WriterFactory } from '../standby/writer-port.js';
import type { LogStore } from '../stores/log-store.js';
import { AutoFailover, type AutoFailoverOptions } from './auto-failover.js';
import { NodeEventHub, type NodeEvents } from './node-events.js';
import type { NodeRole, NodeState, NodeStatus } from './node-status.js';
import { primaryWriterFactory, type PrimaryWriterSettings } from './primary-writer-factory.js';

export interface NodeOptions {
  readonly role: NodeRole;
  /** Role `standby`: the standby's configuration (the node injects `startWriter`). */
  readonly standby?: Omit<StandbyOptions<PrimaryWriter>, 'startWriter'>;
  /** Role `primary`: the stores the writer fences and writes, and their compression. */
  readonly primary?: { readonly stores: readonly LogStore[]; readonly compression: Compression };
  /** Settings for every writer this node starts (either role). */
  readonly writer?: PrimaryWriterSettings;
  /** Builds writers; default primaryWriterFactory(writer). Injected in tests. */
  readonly startWriter?: WriterFactory<PrimaryWriter>;
  /** Turns automatic failover on: a primary holds the leader key, a standby campaigns. */
  readonly election?: Election;
  readonly failover?: AutoFailoverOptions;
  /** Where a listener that threw is reported. Default: nowhere. */
  readonly onListenerError?: (name: string, error: unknown) => void;
}

export class OplogNode {
  private readonly hub: NodeEventHub;
  private readonly startWriter: WriterFactory<PrimaryWriter>;
  private readonly standbyRole: Standby<PrimaryWriter> | undefined;
  private failover: AutoFailover | undefined;
  /** The writer of a node started as primary. */
  private ownWriter: PrimaryWriter | undefined;
  private primaryState: NodeState = 'starting';
  private writerError: OplogError | undefined;

  constructor(private readonly options: NodeOptions) {
    this.hub = new NodeEventHub((name, error) => options.onListenerError?.(name, error));
    this.startWriter = options.startWriter ?? primaryWriterFactory(options.writer);
    if (options.role === 'standby') {
      if (options.standby === undefined) throw new TypeError('node: role standby needs `standby` options');
      this.standbyRole = new Standby<PrimaryWriter>({
        ...options.standby,
        startWriter: (start) => {
          let epoch: Epoch | undefined;
          return this.startWriter({
            ...start,
            beforeStart: (claimed, headSeq) => ((epoch = claimed), start.beforeStart(claimed, headSeq)),
            onStopped: (error) => {
              start.onStopped(error);
              this.writerStopped(epoch, error);
            },
          });
        },
      });
      this.republish(this.standbyRole);
    } else if (options.primary === undefined) {
      throw new TypeError('node: role primary needs `primary` options');
    }
  }

  get events(): NodeEvents {
    return this.hub;
  }

  /** The running writer: the started primary's, or the promoted standby's. */
  get writer(): PrimaryWriter | undefined {
    return this.ownWriter ?? this.standbyRole?.primary;
  }

  /** The standby role (role `standby`), for reads, snapshots and waits. */
  get standby(): Standby<PrimaryWriter> | undefined {
    return this.standbyRole;
  }

  get status(): NodeStatus {
    const standby = this.standbyRole?.status;
    const writer = this.writer;
    return {
      role: this.options.role,
      state: standby?.state ?? this.primaryState,
      writing: writer?.state === 'running',
      epoch: writer?.epoch,
      error: (writer?.error ?? this.writerError)?.code,
      appliedSeq: standby?.appliedSeq,
      standby,
      failover: this.failover?.status,
    };
  }

  /**
   * Starts the role. A primary: the writer (rejects if it cannot start), then the
   * leader key. A standby: following, then automatic failover if there is an election.
   */
  async start(): Promise<void> {
    const { election } = this.options;
    if (this.standbyRole !== undefined) {
      this.standbyRole.start();
      if (election === undefined) return;
      this.failover = new AutoFailover(this.standbyRole, election, {
        ...this.options.failover,
        onError: (error) => {
          this.options.failover?.onError?.(error);
          this.hub.emit('loop-failed', { loop: 'failover', error, outcome: 'retrying' });
        },
      });
      await this.failover.start();
      return;
    }
    const primary = this.options.primary!;
    let epoch: Epoch | undefined;
    this.ownWriter = await this.startWriter({
      ...primary,
      beforeStart: async (claimed) => void (epoch = claimed),
      onStopped: (error) => this.writerStopped(epoch, error),
      // A node started as primary has no state machine to apply to.
      onAcknowledged: () => {},
    });
    this.movePrimary('primary', 'started');
    await election?.campaign({ force: true });
  }

  /** Promotes the standby role (DESIGN.md "Promotion"); a started primary refuses. */
  promote(options: { force?: boolean } = {}): Promise<PrimaryWriter> {
    if (this.standbyRole === undefined) return Promise.reject(new PromotionRefusedError(['not_a_standby']));
    return this.standbyRole.promote(options);
  }

  /** Stops failover, the standby (and a promoted writer), a started primary's writer, the election. */
  async stop(): Promise<void> {
    this.failover?.stop();
    await this.standbyRole?.stop();
    await this.ownWriter?.close();
    await this.options.election?.close();
    if (this.standbyRole === undefined && this.primaryState !== 'stopped')
      this.movePrimary('stopped', 'stop');
  }

  private writerStopped(epoch: Epoch | undefined, error: OplogError): void {
    this.writerError = error;
    if (epoch !== undefined) this.hub.emit('writer-stopped', { epoch, error });
    if (this.standbyRole !== undefined) return; // the standby's own events say the rest
    if (error instanceof FencedError) this.hub.emit('fenced', { epoch: error.epoch, error });
    this.movePrimary('stopped', error instanceof FencedError ? 'fenced' : 'writer_stopped');
  }

  private movePrimary(to: NodeState, event: string): void {
    const from = this.primaryState;
    if (from === to) return;
    this.primaryState = to;
    this.hub.emit('state-changed', { from, to, event });
  }

  private republish(standby: Standby<PrimaryWriter>): void {
    const { events } = standby;
    events.on('state-changed', (e) => this.hub.emit('state-changed', e));
    events.on('range-skipped', (e) => this.hub.emit('range-skipped', e));
    events.on('fenced', (e) => this.hub.emit('fenced', e));
    events.on('record-corrupt', (e) => this.hub.emit('record-corrupt', e));
    events.on('loop-failed', (e) => this.hub.emit('loop-failed', e));
  }
}
