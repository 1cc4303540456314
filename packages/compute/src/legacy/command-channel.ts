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
 * all three), so the channel carries plain `ExchangeMessage` rows of one text datum. The most
 * frequent command at idle, `allowCompaction` (the controller moves every index's since about
 * once a second: 1,000 a second with 1,000 indexes), has a compact text of its own instead
 * (`\u0001<frontier>|<id>`; JSON text never starts with a control character).
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

/**
 * JSON with tagged bigint (`{"$b": "<decimal>"}`), Uint8Array (`{"$u": "<base64>"}`) and Map
 * (`{"$m": [[k, v], ...]}`). The value is first copied into a JSON-safe tree and then handed to
 * `JSON.stringify` without a replacer: a replacer function sends V8's serializer down its slow
 * path, one call per key (issue 16: encode + decode were 20 % of a legacy worker's busy time
 * under peek load). Otherwise JSON's own rules: `undefined` and functions are left out of
 * objects and become `null` in arrays.
 */
export function encodeItem(item: ChannelItem): string {
  if (item.kind === "command" && item.command.kind === "allowCompaction") {
    const { id, frontier } = item.command;
    // The empty frontier (null) has no digits; a bigint's decimal digits never contain `|`.
    return `${COMPACTION}${frontier === null ? "" : frontier.toString()}|${id}`;
  }
  return JSON.stringify(jsonSafe(item));
}

/** The first character of a compact `allowCompaction` item (see the file comment). */
const COMPACTION = "\u0001";

function jsonSafe(v: unknown): unknown {
  if (typeof v === "bigint") return { $b: v.toString() };
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = jsonSafe(v[i]);
    return out;
  }
  if (v instanceof Uint8Array) {
    return { $u: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") };
  }
  if (v instanceof Map) return { $m: jsonSafe([...v.entries()]) };
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return jsonSafe(toJSON.call(v));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined || typeof x === "function") continue;
    define(out, k, jsonSafe(x));
  }
  return out;
}

/**
 * Inverse of `encodeItem`: `JSON.parse` without a reviver (V8's fast path), then one walk that
 * turns the tagged objects back into bigints, bytes and maps.
 */
export function decodeItem(s: string): ChannelItem {
  if (s.charCodeAt(0) === 1) {
    const bar = s.indexOf("|");
    const f = s.slice(1, bar);
    return {
      kind: "command",
      command: {
        kind: "allowCompaction",
        id: s.slice(bar + 1),
        frontier: f === "" ? null : BigInt(f),
      },
    };
  }
  return revive(JSON.parse(s)) as ChannelItem;
}

function revive(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = revive(v[i]);
    return v;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    if (typeof o.$b === "string") return BigInt(o.$b);
    if (typeof o.$u === "string") return new Uint8Array(Buffer.from(o.$u, "base64"));
    if (Array.isArray(o.$m)) return new Map(revive(o.$m) as Array<[unknown, unknown]>);
  }
  for (const k of keys) {
    const x = o[k];
    const r = revive(x);
    if (r !== x) define(o, k, r);
  }
  return o;
}

/** Sets an own data property, even one named `__proto__` (which `o[k] = v` would not). */
function define(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === "__proto__") {
    Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  } else o[k] = v;
}
