/**
 * `PersistSinkOperator`: a persist sink export (materialized view) — every worker's updates
 * gathered on worker 0, which alone writes the shard with compare-and-append.
 *
 * ## Algorithm
 * 1. Gather: each worker sends its input's updates and then `progress(f)` to worker 0 on an
 *    exchange channel of the dataflow's graph (FIFO per sender, so progress follows the data).
 *    Worker 0's gathered frontier is the meet over senders (`PartitionedFrontier`).
 * 2. Write (worker 0): once `allowWrites` was received (read-only until then) and no append is in
 *    flight, the buffered updates in `[shardUpper, gathered)` are appended as one batch with
 *    `compareAndAppend(updates, shardUpper, gathered)`. On `UpperMismatch` another writer (e.g.
 *    another replica, computing the same deterministic data) got there first: adopt its upper and
 *    carry on from it. Updates below the shard's upper are discarded.
 *
 * ## Frontiers reported
 * - write: worker 0 reports the shard's upper as it knows it; other workers report their local
 *   input frontier, which is never below worker 0's upper (the gathered meet includes theirs),
 *   so the process meet is the shard's upper.
 * - output: the local input frontier (computation done); input: the dataflow's imports.
 */
import {
  type Batch,
  type Channel,
  type ExchangeMessage,
  type Graph,
  type InputPort,
  Operator,
  type Stream,
} from "@mzts/dataflow";
import type { Shard } from "@mzts/persist";
import { UpperMismatch } from "@mzts/persist";
import {
  consolidateUpdates,
  Frontier,
  type GlobalId,
  PartitionedFrontier,
  type Update,
} from "@mzts/repr";
import type { Logger } from "pino";
import type { OpenShard } from "./source-import.js";

export class PersistSinkOperator extends Operator {
  readonly sinkId: GlobalId;
  readonly shardId: string;
  readonly #input: InputPort;
  readonly #channel: Channel | undefined;
  readonly #writer: boolean;
  readonly #gathered: PartitionedFrontier | undefined;
  readonly #requestStep: () => void;
  readonly #logger: Logger;
  /** Worker 0: complete-or-not updates gathered from every worker, not yet written. */
  #buffer: Update[] = [];
  #shard: Shard | undefined;
  /** Worker 0: the shard's upper as last known; undefined until fetched. */
  #shardUpper: Frontier | undefined;
  #writesAllowed = false;
  #inFlight = false;
  #stopped = false;
  /** Appends done (for tests and statistics). */
  appends = 0;

  constructor(
    graph: Graph,
    input: Stream,
    opts: {
      readonly id: GlobalId;
      readonly shardId: string;
      readonly openShard: OpenShard;
      readonly requestStep: () => void;
      readonly logger: Logger;
    },
  ) {
    super(graph, `persistSink ${opts.id}`);
    this.sinkId = opts.id;
    this.shardId = opts.shardId;
    this.#input = input.connect(this.id);
    this.#channel = graph.allocateChannel();
    this.#writer = graph.worker === 0;
    this.#requestStep = opts.requestStep;
    this.#logger = opts.logger;
    if (this.#writer) {
      this.#gathered = new PartitionedFrontier(`persist sink ${opts.id}`, graph.workers);
      opts
        .openShard(opts.shardId)
        .then(async (shard) => {
          this.#shard = shard;
          this.#shardUpper = await shard.upper();
          this.#wake();
        })
        .catch((e: unknown) => {
          this.#logger.warn(
            { sink: this.sinkId, shard: this.shardId, err: (e as Error).message },
            "compute: persist sink cannot open its shard",
          );
        });
    }
  }

  /** The frontier this worker reports as `write`; undefined when not yet known. */
  get writeFrontier(): Frontier | undefined {
    return this.#writer ? this.#shardUpper : this.#input.frontier;
  }

  /** This worker's input frontier (computation done below it). */
  get outputFrontier(): Frontier {
    return this.#input.frontier;
  }

  /** Allows writes (one-way); the next step may write what is gathered. */
  allowWrites(): void {
    this.#writesAllowed = true;
    this.#wake();
  }

  /** Async work completed (or writes allowed): the graph must step again (`Graph.activate`). */
  #wake(): void {
    this.graph.activate();
    this.#requestStep();
  }

  /** Stops writing (the sink was dropped). */
  stop(): void {
    this.#stopped = true;
    this.#buffer = [];
  }

  run(): boolean {
    let worked = false;
    const port = this.#input;
    const ch = this.#channel;
    if (port.pending) {
      worked = true;
      for (const b of port.takeBatches()) {
        if (ch) ch.send(0, { kind: "data", rows: b.rows, times: b.times, diffs: b.diffs });
        else this.#absorb(b.rows, b.times, b.diffs);
      }
      if (port.takeFrontier()) {
        if (ch) ch.send(0, { kind: "progress", frontier: port.frontier });
        else this.#gathered?.set(0, port.frontier);
      }
    }
    if (ch) {
      const n = ch.drain((from, m: ExchangeMessage) => {
        if (m.kind === "data") this.#absorb(m.rows, m.times, m.diffs);
        else this.#gathered?.set(from, m.frontier);
      });
      if (n > 0) worked = true;
    }
    this.#maybeWrite();
    return worked;
  }

  #absorb(rows: Batch["rows"], times: Batch["times"], diffs: Batch["diffs"]): void {
    if (!this.#writer || this.#stopped) return;
    for (let i = 0; i < rows.length; i++) this.#buffer.push([rows[i]!, times[i]!, diffs[i]!]);
  }

  #maybeWrite(): void {
    const shard = this.#shard;
    const lower = this.#shardUpper;
    const gathered = this.#gathered;
    if (!this.#writer || this.#stopped || !this.#writesAllowed || this.#inFlight) return;
    if (shard === undefined || lower === undefined || lower === null || gathered === undefined) {
      return;
    }
    const upper = gathered.frontier;
    if (!Frontier.lessThan(lower, upper)) return;
    const batch = consolidateUpdates(
      this.#buffer.filter(([, t]) => t >= lower && !Frontier.includes(upper, t)),
    );
    this.#inFlight = true;
    shard
      .compareAndAppend(batch, lower, upper)
      .then(() => {
        this.appends++;
        this.#advance(upper);
      })
      .catch((e: unknown) => {
        if (e instanceof UpperMismatch) this.#advance(e.current);
        else {
          this.#logger.warn(
            { sink: this.sinkId, shard: this.shardId, err: (e as Error).message },
            "compute: persist sink append failed; retrying",
          );
        }
      })
      .finally(() => {
        this.#inFlight = false;
        this.#wake();
      });
  }

  #advance(upper: Frontier): void {
    if (this.#shardUpper !== undefined && !Frontier.lessThan(this.#shardUpper, upper)) return;
    this.#shardUpper = upper;
    this.#buffer = this.#buffer.filter(([, t]) => Frontier.includes(upper, t));
  }
}
