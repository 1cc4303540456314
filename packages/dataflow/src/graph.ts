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

  constructor(options: GraphOptions = {}) {
    this.#allocator = options.allocator;
    this.worker = options.allocator?.index ?? 0;
    this.workers = options.allocator?.peers ?? 1;
    this.asOf = options.asOf ?? 0n;
    this.name = options.name ?? "dataflow";
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

  /** Runs every operator once, in order. Returns true when any did work. */
  step(): boolean {
    let worked = false;
    const ops = this.#operators;
    for (let i = 0; i < ops.length; i++) if (ops[i]!.run()) worked = true;
    return worked;
  }

  /** Steps until no operator has work. Returns the number of productive steps. */
  run(): number {
    let n = 0;
    while (this.step()) n++;
    return n;
  }
}

/** A new graph for one worker. */
export function createGraph(options: GraphOptions = {}): Graph {
  return new Graph(options);
}
