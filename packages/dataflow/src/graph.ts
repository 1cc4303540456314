/**
 * `Graph`: one worker's dataflow — its operators in topological order, and the scheduler.
 *
 * Every worker of a replica builds the same graph (same operators in the same order, hence the
 * same exchange channel ids) over its own partition of the data (shared/design.md §4). Operators
 * are registered as they are built; since an operator can only read streams that already exist,
 * registration order is a topological order, and one `step()` — each operator's `run()` once, in
 * order — carries a batch from the inputs to the sinks.
 *
 * ## Scheduling
 * `step()` runs every operator once and reports whether any did work. `run()` steps until nothing
 * moves locally. With W > 1 workers, data from other workers arrives asynchronously through the
 * exchange; the runtime calls `step()` again when messages arrive (tests use `runWorkers()`).
 *
 * ## Activation (skipping idle graphs)
 * A graph is *activated* when something may have given one of its operators work: it is built
 * activated (constants emit on the first step), every `Stream.send` / `advance` from outside a
 * step activates it (an input fed from outside), and whoever delivers work by other means calls
 * `activate()`: the runtime when exchange messages for the graph arrive, an operator whose async
 * work (a persist write) completed. Inside a step, a send or advance activates the graph only
 * when one of the stream's readers already ran in this step (its port's owner id is at or below
 * the running operator's; a port connected without an owner counts as already run): a reader
 * later in the topological order runs in this very step and drains it (issue 16: a dataflow fed
 * once a tick used to run a second, idle pass every tick). `stepIfActivated()` runs the graph
 * only when activated and clears the flag first. Because every operator's `run()` only has work
 * when an input port received something (or an exchange channel or async completion delivered
 * it, see above) and drains its inputs, a graph that is not activated would do nothing in
 * `step()`: skipping it is exact.
 * `step()` itself stays unconditional (tests and `runWorkers()` use it). `onActivate` (an option)
 * is told of every transition to activated, so a runtime holding many graphs can step only the
 * activated ones without looking at the others (a graph is built activated: the runtime adds it
 * itself).
 *
 * ## Operator timing (introspection)
 * `enableTiming()` makes every later `step()` add the time each operator's `run()` took to its
 * total (`operatorElapsedNs`, indexed by operator id): one clock read per step and one per
 * operator that did work (idle checks count to the next working operator). Off by default: an
 * untimed `step()` pays one field check and no clock reads.
 *
 * Invariants: operators are only added before the first `step()` that would feed them; an
 * operator's `run()` consumes everything queued on its inputs (no partial drains), so a quiet
 * `step()` means the graph is idle until new input or exchange messages arrive.
 */
import type { Timestamp } from "@mzts/repr";
import type { Allocator, Channel } from "./exchange.js";

/** Base class of every operator: registered with its graph, scheduled by `step()`. */
export abstract class Operator {
  readonly graph: Graph;
  /** Index in the graph's topological order. */
  readonly id: number;
  readonly name: string;

  constructor(graph: Graph, name: string) {
    this.graph = graph;
    this.name = name;
    this.id = graph.addOperator(this);
  }

  /** Processes everything queued on the inputs; returns true when it did any work. */
  abstract run(): boolean;
}

export interface GraphOptions {
  /** The exchange endpoint of this worker; absent means one worker (exchanges are bypassed). */
  readonly allocator?: Allocator;
  /** The dataflow's as-of: constants are emitted at this time. Default 0. */
  readonly asOf?: Timestamp;
  /** A name for errors and debugging. */
  readonly name?: string;
  /**
   * Called when the graph goes from not activated to activated (never while it already is):
   * lets a runtime keep the set of graphs with work instead of checking every graph per step.
   * It must only record; it runs inside `Stream.send` / `advance` and from async completions.
   */
  readonly onActivate?: () => void;
}

/** One worker's dataflow graph. */
export class Graph {
  /** This worker's index in `[0, workers)`. */
  readonly worker: number;
  /** Number of workers running the same graph. */
  readonly workers: number;
  readonly asOf: Timestamp;
  readonly name: string;
  readonly #allocator: Allocator | undefined;
  /** Operators in registration (= topological) order; only grows. */
  readonly #operators: Operator[] = [];
  /** Next exchange channel id; identical across workers because graphs are built identically. */
  #nextChannel = 0;
  /**
   * Nanoseconds each operator spent in `run()` (by operator id; unboxed doubles: adding to a
   * total allocates nothing); undefined while timing is off.
   */
  #elapsedNs: Float64Array | undefined;
  /** Whether an operator may have work (see "Activation"); a new graph must run once. */
  #activated = true;
  readonly #onActivate: (() => void) | undefined;
  /** Id of the operator whose `run()` is in progress; -1 outside a step. */
  #running = -1;

  constructor(options: GraphOptions = {}) {
    this.#allocator = options.allocator;
    this.worker = options.allocator?.index ?? 0;
    this.workers = options.allocator?.peers ?? 1;
    this.asOf = options.asOf ?? 0n;
    this.name = options.name ?? "dataflow";
    this.#onActivate = options.onActivate;
  }

  /** @internal Registers an operator; returns its id. */
  addOperator(op: Operator): number {
    this.#operators.push(op);
    return this.#operators.length - 1;
  }

  /** @internal The next exchange channel, or undefined with one worker. */
  allocateChannel(): Channel | undefined {
    const id = this.#nextChannel++;
    return this.#allocator?.channel(id);
  }

  /** The operators, in topological order. */
  get operators(): readonly Operator[] {
    return this.#operators;
  }

  /** Starts timing every operator's `run()` (idempotent; totals start at 0). */
  enableTiming(): void {
    this.#elapsedNs ??= new Float64Array(this.#operators.length);
  }

  /** Whether `step()` times operators. */
  get timing(): boolean {
    return this.#elapsedNs !== undefined;
  }

  /**
   * Total nanoseconds each operator (by id) spent in `run()` since `enableTiming()`; an operator
   * that never ran reads 0 (or, added after the last step, has no entry yet: read it as 0).
   * Empty while timing is off.
   */
  get operatorElapsedNs(): ArrayLike<number> & Iterable<number> {
    return this.#elapsedNs ?? NO_TIMES;
  }

  /** Whether the graph may have work: `stepIfActivated()` would run it. */
  get activated(): boolean {
    return this.#activated;
  }

  /**
   * Marks the graph as possibly having work. Streams call it on every send and frontier move;
   * call it when work reaches an operator another way (exchange arrivals, async completions).
   */
  activate(): void {
    if (this.#activated) return;
    this.#activated = true;
    this.#onActivate?.();
  }

  /**
   * @internal A stream whose readers' smallest owner id is `firstReader` received data or a
   * frontier: activates the graph unless a step is running an operator before that reader (which
   * will run, and drain it, later in the same step). `firstReader` -1: always activates.
   */
  activateFor(firstReader: number): void {
    if (this.#activated) return;
    const running = this.#running;
    if (running >= 0 && firstReader > running) return;
    this.#activated = true;
    this.#onActivate?.();
  }

  /**
   * Runs every operator once when the graph is activated, else nothing. Returns true when any
   * did work. The graph stays activated only when something gave an operator work that this
   * step did not drain (see "Activation"): the caller steps it again then.
   */
  stepIfActivated(): boolean {
    if (!this.#activated) return false;
    this.#activated = false;
    return this.step();
  }

  /** Runs every operator once, in order. Returns true when any did work. */
  step(): boolean {
    let elapsed = this.#elapsedNs;
    if (elapsed !== undefined) {
      // Operators added since timing was enabled get their slots (operators only grow).
      if (elapsed.length < this.#operators.length) {
        const grown = new Float64Array(this.#operators.length);
        grown.set(elapsed);
        this.#elapsedNs = elapsed = grown;
      }
      return this.#timedStep(elapsed);
    }
    let worked = false;
    const ops = this.#operators;
    try {
      for (let i = 0; i < ops.length; i++) {
        this.#running = i;
        if (ops[i]!.run()) worked = true;
      }
    } finally {
      this.#running = -1;
    }
    return worked;
  }

  /**
   * One clock read per step plus one per operator that did work: an idle operator's check (a
   * few ns) is counted to the next operator that works, so idle graphs stay nearly free.
   */
  #timedStep(elapsed: Float64Array): boolean {
    let worked = false;
    const ops = this.#operators;
    let t0 = performance.now();
    try {
      for (let i = 0; i < ops.length; i++) {
        this.#running = i;
        if (!ops[i]!.run()) continue;
        worked = true;
        const t1 = performance.now();
        elapsed[i]! += (t1 - t0) * 1e6;
        t0 = t1;
      }
    } finally {
      this.#running = -1;
    }
    return worked;
  }

  /** Steps until no operator has work. Returns the number of productive steps. */
  run(): number {
    let n = 0;
    while (this.step()) n++;
    return n;
  }
}

const NO_TIMES: readonly number[] = Object.freeze([]);

/** A new graph for one worker. */
export function createGraph(options: GraphOptions = {}): Graph {
  return new Graph(options);
}
