/**
 * `ReplicaStream`: the ONE `ClusterService.Control` stream (and one TCP connection) of one replica
 * that both the compute and the storage instance's connections ride (design §9 phase 4). Each
 * stream incarnation is a `StreamTask` (`../replicas/stream-task.ts`: probe, backoff, keepalive,
 * fail-once, layout mismatch — the phase 3 machinery) speaking `ClusterService` with the framed
 * codec of `@mzts/protocol` (`cluster/control-frames.ts`, issue 16: the same bytes on the wire,
 * each compute command encoded once for all replicas).
 *
 * ## Attach protocol
 * 1. A sub-connection (`SubConnection`, one per instance incarnation) attaches. With no live
 *    stream, a new one starts connecting; the other instance's sub-connection usually attaches
 *    in the same turn or while it connects, so ONE connect and one stream serve both.
 * 2. Connected: one stream hello is made (fresh nonce, the environment generation); every
 *    attached sub-connection joins: `onConnected(epoch)`, its hello (that hello signed for its own
 *    sub-protocol: "compute"/"storage") and its replay, all in the stream's first request
 *    message. A sub-connection attaching to an open stream joins at once the same way (the
 *    replica takes the other sub-protocol's hello later on the same stream).
 * 3. Responses are demultiplexed by kind: each run of one kind goes to that kind's
 *    sub-connection, tagged with its epoch (`onResponses`), in arrival order. A compute peek
 *    answer the compute sub-connection's instance no longer waits for (`awaitsPeek`) is dropped
 *    undecoded (issue 16, `@mzts/protocol`'s `cluster/control-frames.ts`).
 * 4. The stream fails (ended, transport, keepalive, a malformed message, a callback throwing,
 *    `Unimplemented` → `ReplicaLayoutMismatch`): every attached sub-connection fails once
 *    (`onFailed`). Their instances start new epochs (at once by the unified rehydration policy),
 *    which attach and open the next stream together: one reconnect and one replay serve both.
 * 5. A sub-protocol can say hello once per stream: a new incarnation of a kind that already
 *    joined the open stream (its instance closed the old one and started another) retires the
 *    stream — the others fail once and rejoin the next one with the newcomer.
 * 6. The last sub-connection detaching closes the stream.
 *
 * ## Invariants
 * - At most one live stream per replica; at most one attached sub-connection per kind.
 * - Both hellos of one stream carry the same nonce and generation.
 */
import {
  type ClusterCommand,
  type ClusterResponse,
  clusterRequestFrames,
  clusterResponsesFromFrames,
  createHello,
  type Hello,
} from "@mzts/protocol";
import { ClusterFramesService, type clusterV1 } from "@mzts/protocol/wire";
import { SendCoalescer } from "../replicas/send-coalescer.js";
import { StreamTask, toError } from "../replicas/stream-task.js";
import type { SubConnection, SubStream } from "./sub-connection.js";
import type { SubProtocolKind } from "./sub-protocol.js";

type AnySub = SubConnection<unknown, unknown>;

/** One incarnation of the replica's cluster stream and the sub-connections attached to it. */
class StreamIncarnation implements SubStream {
  readonly task: StreamTask<clusterV1.ControlRequestFrames, clusterV1.ControlResponseFrames>;
  /** Attached sub-connections by kind, until they fail with the stream or detach. */
  readonly members = new Map<SubProtocolKind, AnySub>();
  /** Kinds whose hello went on this stream (a kind says hello once per stream). */
  readonly joined = new Set<SubProtocolKind>();
  /** The stream's hello; set when it opens. */
  #hello: Hello | undefined;
  readonly #owner: ReplicaStream;
  /** Live commands of one event-loop turn, both workloads', written as one message (issue 16). */
  readonly #outbox = new SendCoalescer<readonly [AnySub, readonly unknown[]]>((batch) =>
    this.#flush(batch),
  );

  constructor(owner: ReplicaStream, first: AnySub) {
    this.#owner = owner;
    this.members.set(first.protocol.kind, first);
    const o = first.options;
    this.task = new StreamTask({
      service: ClusterFramesService,
      stream: "cluster",
      layout: "one-port",
      replicaId: o.replicaId,
      logFields: { instance_id: o.instanceId },
      // Both instances are handed the replica's one location; read from whoever is attached.
      location: () => (this.members.values().next().value ?? first).options.location(),
      logger: o.logger,
      tuning: o.tuning,
      connected: () => {},
      opened: () => {
        this.#hello = createHello(o.generation);
        this.#join([...this.members.values()]);
      },
      message: (message) => this.#demux(clusterResponsesFromFrames(message, this.#awaitsPeek())),
      failed: (cause) => {
        this.#outbox.discard();
        this.#owner.ended(this, cause);
      },
    });
  }

  /** Adds `sub`; joins it at once when the stream is open. */
  add(sub: AnySub): void {
    this.members.set(sub.protocol.kind, sub);
    if (this.task.writable) this.#join([sub]);
  }

  /** Joins `subs` to the open stream: their hellos and replays in one request message. */
  #join(subs: readonly AnySub[]): void {
    const hello = this.#hello;
    if (hello === undefined) return;
    const out: ClusterCommand[] = [];
    const sent: Array<[AnySub, unknown[]]> = [];
    for (const sub of subs) {
      const first = sub.join(hello);
      if (first.length === 0) continue;
      this.joined.add(sub.protocol.kind);
      sent.push([sub, first]);
      for (const c of first) out.push(sub.protocol.wrap(c));
    }
    this.#push(out, sent);
  }

  /** A sub-connection's live commands: both workloads' of one event-loop turn share a message. */
  write(sub: AnySub, commands: readonly unknown[]): void {
    if (this.members.get(sub.protocol.kind) !== sub || !this.task.writable) return;
    this.#outbox.add([[sub, commands]]);
  }

  /** Writes one turn's commands as one request message (members that left are skipped). */
  #flush(batch: ReadonlyArray<readonly [AnySub, readonly unknown[]]>): void {
    if (!this.task.writable) return;
    const out: ClusterCommand[] = [];
    const sent: Array<[AnySub, unknown[]]> = [];
    for (const [sub, commands] of batch) {
      if (this.members.get(sub.protocol.kind) !== sub) continue;
      const cs = sub.outgoing(commands);
      for (const c of cs) out.push(sub.protocol.wrap(c));
      sent.push([sub, cs]);
    }
    this.#push(out, sent);
  }

  /** One request message; an encode error fails the stream (never the caller). */
  #push(commands: ClusterCommand[], sent: ReadonlyArray<readonly [AnySub, unknown[]]>): void {
    if (commands.length === 0) return;
    let message: clusterV1.ControlRequestFrames;
    try {
      message = clusterRequestFrames(commands);
    } catch (e) {
      this.task.fail(toError(e));
      return;
    }
    this.task.push(message);
    for (const [sub, cs] of sent) for (const c of cs) sub.options.onCommandSent?.(c);
  }

  /**
   * The attached compute sub-connection's `awaitsPeek` (its instance's), asked about each compute
   * peek answer of a message; undefined (nothing dropped) when it has none.
   */
  #awaitsPeek(): ((uuid: string) => boolean) | undefined {
    const options = this.members.get("compute")?.options;
    if (options?.awaitsPeek === undefined) return undefined;
    return (uuid) => options.awaitsPeek?.(uuid) ?? true;
  }

  /** Each run of one kind to that kind's sub-connection, in order (one pass, no copies). */
  #demux(responses: readonly ClusterResponse[]): void {
    let kind: SubProtocolKind | undefined;
    let run: unknown[] = [];
    const flush = () => {
      if (kind === undefined || run.length === 0) return;
      if (this.task.state === "connected") this.members.get(kind)?.deliver(run);
      run = [];
    };
    for (const r of responses) {
      if (r.kind !== kind) {
        flush();
        kind = r.kind;
      }
      run.push(r.response);
    }
    flush();
  }

  retryNow(): void {
    this.task.retryNow();
  }

  detach(sub: AnySub): Promise<void> {
    return this.#owner.detach(this, sub);
  }
}

/** Options of a replica's stream. */
export interface ReplicaStreamHooks {
  /** The replica has no stream and no attached sub-connection any more. */
  onIdle(stream: ReplicaStream): void;
}

/** The one cluster stream of one replica (see the file comment). */
export class ReplicaStream {
  readonly replicaId: string;
  readonly #hooks: ReplicaStreamHooks;
  /** The live stream incarnation; undefined between a failure and the next attach. */
  #current: StreamIncarnation | undefined;
  /** Stream incarnations started so far (connects of the shared stream). */
  #started = 0;

  constructor(replicaId: string, hooks: ReplicaStreamHooks) {
    this.replicaId = replicaId;
    this.#hooks = hooks;
  }

  /** How many stream incarnations were started (one per reconnect serving both instances). */
  get streamsStarted(): number {
    return this.#started;
  }

  /** Whether a stream incarnation is live (connecting or connected). */
  get active(): boolean {
    return this.#current !== undefined;
  }

  /** Attaches a new sub-connection (see the attach protocol). */
  attach(sub: AnySub): void {
    const kind = sub.protocol.kind;
    const current = this.#current;
    if (current !== undefined && !current.joined.has(kind)) {
      // An older incarnation of its kind that never joined is simply superseded (a connecting
      // connection never reports a failure; its instance closes it).
      sub.attach(current);
      current.add(sub);
      return;
    }
    if (current !== undefined) {
      // Its kind already said hello on this stream: the next stream serves the newcomer.
      this.#current = undefined;
      void this.#retire(current, new Error(`the ${kind} instance started epoch ${sub.epoch}`));
    }
    this.#started++;
    const next = new StreamIncarnation(this, sub);
    sub.attach(next);
    this.#current = next;
  }

  /** A stream incarnation failed: every member fails once (they reattach to a new one). */
  ended(incarnation: StreamIncarnation, cause: Error): void {
    if (this.#current === incarnation) this.#current = undefined;
    const members = [...incarnation.members.values()];
    incarnation.members.clear();
    for (const m of members) m.fail(cause);
    this.#idleCheck();
  }

  /** Detaches `sub`; the last one out closes the stream. */
  async detach(incarnation: StreamIncarnation, sub: AnySub): Promise<void> {
    if (incarnation.members.get(sub.protocol.kind) !== sub) return;
    incarnation.members.delete(sub.protocol.kind);
    if (incarnation.members.size > 0) return;
    if (this.#current === incarnation) this.#current = undefined;
    await incarnation.task.close();
    this.#idleCheck();
  }

  /** Closes a superseded stream; its members fail once with `cause`. */
  async #retire(incarnation: StreamIncarnation, cause: Error): Promise<void> {
    const members = [...incarnation.members.values()];
    incarnation.members.clear();
    await incarnation.task.close();
    for (const m of members) m.fail(cause);
  }

  #idleCheck(): void {
    if (this.#current === undefined) this.#hooks.onIdle(this);
  }
}
