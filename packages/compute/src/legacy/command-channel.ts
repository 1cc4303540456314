// PHASE(servers): legacy — delete when cluster-unification-servers is retired
/**
 * `CommandChannel`: legacy compute's own command distribution (design §4; Materialize
 * `command_channel.rs`). Worker 0 alone receives the controller's commands and re-broadcasts
 * them through the dataflow engine's exchange: a broadcast whose progress orders the commands.
 *
 * ## Algorithm
 * - Worker 0 keeps the channel's only capability, a logical time `k` starting at 0. For each
 *   item it sends one `data` message per worker at time `k` (the item encoded as a one-column
 *   row), then `progress(k + 1)` to every worker, and advances `k`.
 * - Every worker drains the channel: data is held by time; `progress(f)` from worker 0 sets the
 *   frontier; items with time `< f` are released in time order.
 * Because the exchange is FIFO per (sender, receiver), `progress(k + 1)` arrives after item `k`,
 * so every worker releases the identical sequence — one total order without the sequencer.
 *
 * Items are encoded as JSON text with tags for bigint, Uint8Array and Map (commands carry
 * all three), so the channel carries plain `ExchangeMessage` rows of one text datum.
 */
import type { Channel } from "@mzts/dataflow";
import type { ComputeCommand } from "@mzts/protocol";
import type { Frontier, Timestamp } from "@mzts/repr";

/** What the channel carries: a connection switch or a controller command. */
export type ChannelItem =
  | { readonly kind: "connect"; readonly nonce: string }
  | { readonly kind: "command"; readonly command: ComputeCommand };

export class CommandChannel {
  readonly #channel: Channel;
  readonly #index: number;
  readonly #peers: number;
  /** Worker 0: time of the next item. */
  #time: Timestamp = 0n;
  /** Progress received from worker 0: items below it are complete. */
  #frontier: Frontier = 0n;
  /** Received items not yet released, by time. */
  readonly #held = new Map<Timestamp, ChannelItem>();
  /** Next time to release. */
  #next: Timestamp = 0n;

  constructor(channel: Channel, index: number, peers: number) {
    this.#channel = channel;
    this.#index = index;
    this.#peers = peers;
  }

  /** Worker 0: broadcasts `item` at the next time and advances progress past it. */
  push(item: ChannelItem): void {
    this.pushAll([item]);
  }

  /**
   * Worker 0: broadcasts `items` at consecutive times and advances progress past them — one data
   * and one progress message per peer for the whole batch, not per item.
   */
  pushAll(items: readonly ChannelItem[]): void {
    if (this.#index !== 0) throw new RangeError("only worker 0 feeds the command channel");
    if (items.length === 0) return;
    const rows = items.map((item) => [encodeItem(item)]);
    const times = items.map(() => this.#time++);
    const diffs = items.map(() => 1);
    for (let w = 0; w < this.#peers; w++) {
      this.#channel.send(w, { kind: "data", rows, times, diffs });
    }
    for (let w = 0; w < this.#peers; w++) {
      this.#channel.send(w, { kind: "progress", frontier: this.#time });
    }
  }

  /** Drains arrivals and returns the items now complete, in time order. */
  receive(): ChannelItem[] {
    this.#channel.drain((from, m) => {
      if (m.kind === "data") {
        for (let i = 0; i < m.rows.length; i++) {
          this.#held.set(m.times[i]!, decodeItem(m.rows[i]![0] as string));
        }
      } else if (from === 0) this.#frontier = m.frontier;
    });
    const out: ChannelItem[] = [];
    const f = this.#frontier;
    while (f === null || this.#next < f) {
      const item = this.#held.get(this.#next);
      if (item === undefined) break;
      this.#held.delete(this.#next);
      out.push(item);
      this.#next++;
    }
    return out;
  }
}

/** JSON with tagged bigint / Uint8Array / Map. */
export function encodeItem(item: ChannelItem): string {
  return JSON.stringify(item, function (this: unknown, key: string, v: unknown) {
    const raw = (this as Record<string, unknown>)[key];
    if (typeof raw === "bigint") return { $b: raw.toString() };
    if (raw instanceof Uint8Array) return { $u: Buffer.from(raw).toString("base64") };
    if (raw instanceof Map) return { $m: [...raw.entries()] };
    return v;
  });
}

/** Inverse of `encodeItem`. */
export function decodeItem(s: string): ChannelItem {
  return JSON.parse(s, (_k, v: unknown) => {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1) {
        if (typeof o.$b === "string") return BigInt(o.$b);
        if (typeof o.$u === "string") return new Uint8Array(Buffer.from(o.$u, "base64"));
        if (Array.isArray(o.$m)) return new Map(o.$m as Array<[unknown, unknown]>);
      }
    }
    return v;
  }) as ChannelItem;
}
