/**
 * `ExchangeOperator` / `exchange()`: repartitions a stream between workers by a hash of key
 * columns, so that every update of one key meets on one worker.
 *
 * ## Algorithm
 * 1. Drain the input: route each update to worker `hashKey(key(row)) mod W` (`key.ts`; the
 *    whole row when the key is null), one `data` message per target per batch.
 * 2. When the input frontier advances to `f`, send `progress(f)` to every worker, after the data.
 * 3. Drain the channel: `data` becomes an output batch; `progress(f)` from sender s sets part s
 *    of a `PartitionedFrontier`, and the output frontier advances when the meet over all senders
 *    strictly advances.
 *
 * ## Correctness
 * Channels are FIFO per (sender, receiver), so `progress(f)` from s arrives after all of s's
 * data at times `< f`; the meet over senders is therefore a frontier below which every worker's
 * data for this receiver has arrived — the output frontier accounts for every worker's input.
 * With one worker (`graph.workers === 1`) the factory returns its input: no hashing, no copy.
 */
import { type Frontier, PartitionedFrontier, type Row, type Timestamp } from "@mzts/repr";
import { Batch } from "../batch.js";
import { ExchangeMisuse } from "../errors.js";
import type { Channel, ExchangeMessage } from "../exchange.js";
import { type Graph, Operator } from "../graph.js";
import { type InputPort, type Pipeable, Stream } from "../stream.js";
import { hashKey, type Key, keyFunction } from "./key.js";

/** Sends each update to the worker owning its key; merges progress from every worker. */
export class ExchangeOperator extends Operator {
  readonly output: Stream;
  readonly #input: InputPort;
  readonly #channel: Channel;
  /** The routing key of a row (key columns, or the whole row). */
  readonly #key: (row: Row) => Key;
  /** Per sender, the frontier it announced; the meet is the output frontier. */
  readonly #senders: PartitionedFrontier;
  readonly #onMessage: (from: number, m: ExchangeMessage) => void;

  constructor(graph: Graph, input: Stream, key: readonly number[] | null, name = "exchange") {
    super(graph, name);
    const channel = graph.allocateChannel();
    if (!channel) throw new ExchangeMisuse("an exchange operator needs a graph with an allocator");
    this.#channel = channel;
    this.#input = input.connect(this.id);
    this.#key = keyFunction(key);
    this.#senders = new PartitionedFrontier(`${name} senders`, graph.workers, input.frontier);
    this.output = new Stream(graph, name, input.frontier);
    this.#onMessage = (from, m) => {
      if (m.kind === "data") this.output.send(new Batch(m.rows, m.times, m.diffs));
      else {
        if (from < 0 || from >= graph.workers)
          throw new ExchangeMisuse(`message from worker ${from}`);
        const joint = this.#senders.set(from, m.frontier);
        if (joint !== undefined) this.output.advance(joint);
      }
    };
  }

  run(): boolean {
    let worked = false;
    const port = this.#input;
    if (port.pending) {
      worked = true;
      const w = this.graph.workers;
      const key = this.#key;
      for (const b of port.takeBatches()) {
        const parts: Array<{ rows: Row[]; times: Timestamp[]; diffs: number[] } | undefined> =
          new Array(w);
        const { rows, times, diffs } = b;
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i]!;
          const h = hashKey(key(row)) % w;
          let p = parts[h];
          if (!p) parts[h] = p = { rows: [], times: [], diffs: [] };
          p.rows.push(row);
          p.times.push(times[i]!);
          p.diffs.push(diffs[i]!);
        }
        for (let t = 0; t < w; t++) {
          const p = parts[t];
          if (p)
            this.#channel.send(t, { kind: "data", rows: p.rows, times: p.times, diffs: p.diffs });
        }
      }
      if (port.takeFrontier()) {
        const f: Frontier = port.frontier;
        for (let t = 0; t < w; t++) this.#channel.send(t, { kind: "progress", frontier: f });
      }
    }
    if (this.#channel.drain(this.#onMessage) > 0) worked = true;
    return worked;
  }
}

/**
 * Pipeable exchange by `key` columns (null = whole row). With one worker it returns its input.
 */
export function exchange(key: readonly number[] | null): Pipeable {
  return (input) =>
    input.graph.workers === 1 ? input : new ExchangeOperator(input.graph, input, key).output;
}
