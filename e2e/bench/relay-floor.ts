/**
 * The topology floor of an API peek (@internal, issue 16): the best-case cost, on this machine,
 * of the path an API peek takes — client → environmentd → a long-lived bidi gRPC stream per
 * replica → the replica's main thread → one worker thread and back — with none of the product's
 * code in it. Three processes of bare `node:http2`:
 *
 * - the relay (`relay-floor-relay.ts`, standing in for environmentd): answers unary gRPC calls.
 *   Each call's request bytes get an id and go to every replica (or only the first one when the
 *   call's `:path` ends in `/r1`: the targeted row) over one long-lived bidi gRPC-framed stream
 *   per replica, coalesced as the controllers do (`SendCoalescer`: one stream message per
 *   event-loop turn, at most 64 requests each). The first reply answers the call (its bytes, the
 *   canned answer, framed as the call's response with `grpc-status: 0`); a later reply for the
 *   same id is dropped (no cancel is sent: the floor does only what an answer needs);
 * - two replicas (`relay-floor-replica.ts`): each reads the stream's messages and hands every
 *   message's requests to its one worker thread in one `postMessage`; the worker answers every
 *   request with the canned answer bytes (the same size as environmentd's answer) and posts the
 *   batch back; the replica writes the answers of one turn as one stream message.
 *
 * Stream messages are protobuf-compatible frames messages (field 1, `repeated bytes`: what the
 * controllers' `ControlRequestFrames`/`ControlResponseFrames` are); each frame is a 4-byte id
 * followed by the request (or answer) bytes. The helpers below encode and decode them.
 *
 * `startRelayFloor(answer)` spawns the three (same node and loader flags as the bench) and
 * resolves with the relay's URL and a `stop()`; every process also exits when its stdin closes.
 */
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { spawnListening } from "./raw-h2.js";

/** Requests per stream message at most (the controllers' `SEND_BATCH_MAX`). */
export const FLOOR_BATCH_MAX = 64;

/** The `:path` of the replicas' bidi stream. */
export const FLOOR_STREAM_PATH = "/mzts.floor.Replica/Control";

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/**
 * One gRPC envelope (flag 0, 4-byte length) holding a frames message: field 1 (`repeated
 * bytes`), each frame `id (u32 BE) + body`.
 */
export function encodeFramesEnvelope(frames: readonly { id: number; body: Uint8Array }[]): Buffer {
  let size = 0;
  for (const f of frames) {
    const len = 4 + f.body.length;
    size += 1 + varintLength(len) + len;
  }
  const out = Buffer.allocUnsafe(5 + size);
  out[0] = 0;
  out.writeUInt32BE(size, 1);
  let at = 5;
  for (const f of frames) {
    out[at++] = 0x0a;
    at = writeVarint(out, at, 4 + f.body.length);
    out.writeUInt32BE(f.id >>> 0, at);
    out.set(f.body, at + 4);
    at += 4 + f.body.length;
  }
  return out;
}

/** The frames of one frames message (no envelope): each frame's id and body (views, no copy). */
export function decodeFrames(message: Buffer): { id: number; body: Buffer }[] {
  const out: { id: number; body: Buffer }[] = [];
  let at = 0;
  while (at < message.length) {
    if (message[at++] !== 0x0a) throw new Error(`frames message: unexpected tag at ${at - 1}`);
    let len = 0;
    let shift = 1;
    for (;;) {
      const b = message[at++];
      if (b === undefined) throw new Error("frames message: cut varint");
      len += (b & 0x7f) * shift;
      if (b < 0x80) break;
      shift *= 128;
    }
    if (len < 4 || at + len > message.length) throw new Error("frames message: cut frame");
    out.push({ id: message.readUInt32BE(at), body: message.subarray(at + 4, at + len) });
    at += len;
  }
  return out;
}

/**
 * Splits a byte stream into gRPC envelopes' messages: `push(chunk)` calls `onMessage` for every
 * envelope completed by it (a message may span chunks; a chunk may hold several).
 */
export class EnvelopeReader {
  #buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onMessage: (message: Buffer) => void) {}

  push(chunk: Buffer): void {
    let buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    while (buf.length >= 5) {
      if (buf[0] !== 0) throw new Error("compressed envelope: the floor sends none");
      const len = buf.readUInt32BE(1);
      if (buf.length < 5 + len) break;
      this.onMessage(buf.subarray(5, 5 + len));
      buf = buf.subarray(5 + len);
    }
    this.#buf = buf;
  }
}

/** Calls `flush` once per event-loop turn with what was added (or at once at `max` pending). */
export class TurnBatch<T> {
  #pending: T[] = [];
  #scheduled: NodeJS.Immediate | undefined;
  constructor(
    private readonly flush: (items: T[]) => void,
    private readonly max = FLOOR_BATCH_MAX,
  ) {}

  add(item: T): void {
    this.#pending.push(item);
    if (this.#pending.length >= this.max) this.flushNow();
    else
      this.#scheduled ??= setImmediate(() => {
        this.#scheduled = undefined;
        this.flushNow();
      });
  }

  flushNow(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    if (this.#pending.length === 0) return;
    const items = this.#pending;
    this.#pending = [];
    this.flush(items);
  }
}

const RELAY = fileURLToPath(new URL("./relay-floor-relay.ts", import.meta.url));
const REPLICA = fileURLToPath(new URL("./relay-floor-replica.ts", import.meta.url));

export interface RelayFloor {
  /** The relay's h2c URL: unary calls on any path; a path ending in `/r1` goes to r1 only. */
  readonly url: string;
  /** The replica processes' pids and the relay's (for CPU accounting). */
  readonly pids: { relay: number; replicas: number[] };
  stop(): void;
}

/**
 * Starts the two replicas and the relay; `answer` is the message every replica answers with
 * (unframed: e.g. environmentd's own answer to the same peek).
 */
export async function startRelayFloor(answer: Uint8Array): Promise<RelayFloor> {
  const children: ChildProcess[] = [];
  const stop = () => {
    for (const c of children) c.kill("SIGKILL");
  };
  try {
    const b64 = Buffer.from(answer).toString("base64");
    const replicaPorts = await Promise.all([
      spawnListening(REPLICA, [b64], children),
      spawnListening(REPLICA, [b64], children),
    ]);
    const relayPort = await spawnListening(
      RELAY,
      replicaPorts.map((p) => `http://127.0.0.1:${p}`),
      children,
    );
    return {
      url: `http://127.0.0.1:${relayPort}`,
      pids: { relay: children[2]!.pid!, replicas: [children[0]!.pid!, children[1]!.pid!] },
      stop,
    };
  } catch (e) {
    stop();
    throw e;
  }
}
