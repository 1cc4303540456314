// PHASE(servers): legacy — delete when cluster-unification-servers is retired
/**
 * Storage's own internal command sequencer (legacy path; materialize.md §1.3, `internal_control.rs`
 * "command_sequencer"): any worker may submit an internal command; every worker delivers all of
 * them in one global order, decided by worker 0.
 *
 * ## Algorithm
 * 1. `push(cmd)` tags the command with the submitting worker's running index and sends it to
 *    worker 0 (worker 0's own submissions take the same path, without the mesh).
 * 2. Worker 0 releases each source's commands in index order (buffering any that arrive early),
 *    numbers them with a global counter, and broadcasts them to every worker, itself included.
 * 3. Every worker buffers deliveries and yields them from `drain()` in global order, with no gaps.
 *
 * Explicit indexes make the order independent of message timing (as Materialize's replacement of
 * timely's `Sequencer` did). Deliberately separate from `@mzts/mz-cluster`'s `Sequencer`: this is
 * the legacy drift the servers phase removes.
 */
import { InvariantViolation } from "@mzts/repr";

/** A message of the internal sequencer. */
export type InternalSequencerMessage<T> =
  | { readonly kind: "submit"; readonly index: number; readonly cmd: T }
  | { readonly kind: "deliver"; readonly global: number; readonly cmd: T };

/** One worker's end of the internal sequencer. */
export class InternalCommandSequencer<T> {
  readonly #index: number;
  readonly #peers: number;
  readonly #send: (to: number, msg: InternalSequencerMessage<T>) => void;
  /** This worker's next submission index. */
  #nextLocal = 0;
  /** Worker 0: per source, the next index to release. */
  readonly #nextBySource: number[];
  /** Worker 0: per source, submissions that arrived ahead of their turn. */
  readonly #early: Array<Map<number, T>>;
  /** Worker 0: the next global number. */
  #nextGlobal = 0;
  /** The next global number to deliver here. */
  #nextDeliver = 0;
  /** Deliveries that arrived ahead of their turn. */
  readonly #pending = new Map<number, T>();

  constructor(
    index: number,
    peers: number,
    send: (to: number, msg: InternalSequencerMessage<T>) => void,
  ) {
    this.#index = index;
    this.#peers = peers;
    this.#send = send;
    this.#nextBySource = new Array<number>(peers).fill(0);
    this.#early = Array.from({ length: peers }, () => new Map<number, T>());
  }

  /** Submits an internal command. */
  push(cmd: T): void {
    const msg: InternalSequencerMessage<T> = { kind: "submit", index: this.#nextLocal++, cmd };
    if (this.#index === 0) this.receive(0, msg);
    else this.#send(0, msg);
  }

  /** A message from worker `from`. */
  receive(from: number, msg: InternalSequencerMessage<T>): void {
    if (msg.kind === "deliver") {
      this.#pending.set(msg.global, msg.cmd);
      return;
    }
    if (this.#index !== 0) {
      throw new InvariantViolation(`worker ${this.#index} received an internal submission`);
    }
    this.#early[from]!.set(msg.index, msg.cmd);
    const early = this.#early[from]!;
    for (;;) {
      const next = this.#nextBySource[from]!;
      if (!early.has(next)) break;
      const cmd = early.get(next) as T;
      early.delete(next);
      this.#nextBySource[from] = next + 1;
      const global = this.#nextGlobal++;
      for (let to = 0; to < this.#peers; to++) {
        const d: InternalSequencerMessage<T> = { kind: "deliver", global, cmd };
        if (to === 0) this.#pending.set(global, cmd);
        else this.#send(to, d);
      }
    }
  }

  /** Yields the deliverable commands in global order. */
  *drain(): Generator<{ readonly global: number; readonly cmd: T }> {
    for (;;) {
      const g = this.#nextDeliver;
      if (!this.#pending.has(g)) return;
      const cmd = this.#pending.get(g) as T;
      this.#pending.delete(g);
      this.#nextDeliver = g + 1;
      yield { global: g, cmd };
    }
  }
}
