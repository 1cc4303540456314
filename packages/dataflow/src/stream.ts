/**
 * Edges of the dataflow graph: a `Stream` is an operator's output, an `InputPort` is one
 * reader's end of it.
 *
 * Data (`Batch`) and progress (frontier) messages travel on the same edge. A reader drains what
 * arrived since its last run with `takeBatches()` and `takeFrontier()`; because every batch on an
 * edge has times at or beyond the frontier that preceded it, a reader may process all drained
 * data first and the newest frontier last, which is what every operator does.
 *
 * Invariants:
 * - a stream's frontier only advances (`MonotoneFrontier` throws `FrontierRegression` otherwise),
 *   and closes (empty) exactly once;
 * - every update sent on a stream has `time >= frontier` (checked at `send`, a bug otherwise);
 * - sent batches are shared by all readers and never mutated.
 * Readers must `connect()` before the graph first runs (they do not see earlier messages), an
 * operator passing its own id (`connect(this.id)`): a send inside a step then activates the graph
 * only when a reader already ran in it (`Graph.activateFor`).
 */
import { Frontier, invariant, MonotoneFrontier } from "@mzts/repr";
import type { Batch } from "./batch.js";
import type { Graph } from "./graph.js";

const NO_BATCHES: Batch[] = [];

/** One reader's end of a stream: queued batches and the newest frontier received. */
export class InputPort {
  /** Batches received and not yet taken; replaced (not cleared) on take. */
  #batches: Batch[] = NO_BATCHES;
  /**
   * The array of a lone batch (the common case: one batch per step), reused: a port receiving
   * one batch a tick allocates nothing. What `takeBatches()` returned is read before the port
   * receives again (operators drain their inputs at once), so rewriting it is safe.
   */
  readonly #one: Batch[] = [];
  /** Newest frontier received (starts at the stream's frontier at connect time). */
  #frontier: Frontier;
  /** True when `#frontier` moved since the last `takeFrontier()`. */
  #frontierChanged = false;

  constructor(initial: Frontier) {
    this.#frontier = initial;
  }

  /** @internal called by the stream. */
  receiveData(batch: Batch): void {
    const held = this.#batches;
    if (held === NO_BATCHES) {
      this.#one[0] = batch;
      this.#batches = this.#one;
    } else if (held === this.#one) this.#batches = [held[0]!, batch];
    else held.push(batch);
  }

  /** @internal called by the stream. */
  receiveFrontier(f: Frontier): void {
    this.#frontier = f;
    this.#frontierChanged = true;
  }

  /** True when data or a frontier change is waiting. */
  get pending(): boolean {
    return this.#batches.length > 0 || this.#frontierChanged;
  }

  /** The newest frontier received on this edge. */
  get frontier(): Frontier {
    return this.#frontier;
  }

  /**
   * Removes and returns the waiting batches (possibly none): valid until the port next receives
   * (iterate it at once).
   */
  takeBatches(): Batch[] {
    const b = this.#batches;
    this.#batches = NO_BATCHES;
    return b;
  }

  /** True (once) when the frontier advanced since the last call. */
  takeFrontier(): boolean {
    const c = this.#frontierChanged;
    this.#frontierChanged = false;
    return c;
  }
}

/** A pipeable operator factory: takes a stream, adds operators, returns their output stream. */
export type Pipeable = (input: Stream) => Stream;

/** An operator's output edge, read by any number of `InputPort`s. */
export class Stream {
  readonly graph: Graph;
  /** A name for errors and debugging (the producing operator's name). */
  readonly name: string;
  readonly #ports: InputPort[] = [];
  readonly #frontier: MonotoneFrontier;
  /** The smallest owner id of the readers (-1: a reader without one); `MAX_SAFE_INTEGER`: none. */
  #firstReader = Number.MAX_SAFE_INTEGER;

  constructor(graph: Graph, name: string, initial: Frontier = Frontier.MIN) {
    this.graph = graph;
    this.name = name;
    this.#frontier = new MonotoneFrontier(`stream ${name}`, initial);
  }

  /** The stream's output frontier: every update at a time below it has been sent. */
  get frontier(): Frontier {
    return this.#frontier.current;
  }

  /**
   * A new reader of this stream. Connect before the graph runs. `owner`: the id of the operator
   * that drains the port in its `run()` (omitted: -1, as if it ran first — every send activates
   * the graph).
   */
  connect(owner = -1): InputPort {
    const port = new InputPort(this.#frontier.current);
    this.#ports.push(port);
    if (owner < this.#firstReader) this.#firstReader = owner;
    return port;
  }

  /** Sends a batch to every reader. The batch must not be mutated afterwards. */
  send(batch: Batch): void {
    const n = batch.length;
    if (n === 0) return;
    const f = this.#frontier.current;
    invariant(f !== null, () => `stream ${this.name}: data sent after the frontier closed`);
    const times = batch.times;
    for (let i = 0; i < n; i++) {
      if (times[i]! < f) {
        invariant(false, `stream ${this.name}: update at ${times[i]} behind frontier ${f}`);
      }
    }
    const ports = this.#ports;
    for (let i = 0; i < ports.length; i++) ports[i]!.receiveData(batch);
    this.graph.activateFor(this.#firstReader);
  }

  /**
   * Advances the frontier and tells every reader.
   * @throws FrontierRegression when `f` is behind the current frontier (a bug in the caller).
   */
  advance(f: Frontier): void {
    if (!this.#frontier.advance(f)) return;
    const ports = this.#ports;
    for (let i = 0; i < ports.length; i++) ports[i]!.receiveFrontier(f);
    this.graph.activateFor(this.#firstReader);
  }

  /** Applies pipeable operator factories in order: `s.pipe(map(…), filter(…))`. */
  pipe(...ops: Pipeable[]): Stream {
    let s: Stream = this;
    for (const op of ops) s = op(s);
    return s;
  }
}
