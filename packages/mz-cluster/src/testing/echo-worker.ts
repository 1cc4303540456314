/**
 * A small workload for tests and benchmarks of the runtime itself (@internal — no semver).
 *
 * Commands:
 * - `{op:"echo", id}`: every worker responds `{op:"echo", id, worker, seq}`;
 * - `{op:"internal", id, from}`: worker `from` submits an internal command `{op:"echo", id}`
 *   through `sequence()`, so it is ordered like a controller command;
 * - `{op:"log"}`: every worker responds with the list of `id`s it applied, in order;
 * - `{op:"crash"}`: worker 0 throws from `apply` (tests worker failure);
 * - `{op:"wait", worker, signal}`: worker `worker` blocks in `apply` (its thread is stuck: tests
 *   that the other workers do not wait for it) until the test releases it — `signal` is an
 *   `Int32Array` over a `SharedArrayBuffer` of 3 slots: the worker sets [1] to 1 when it starts
 *   waiting, waits for [0] to become non-zero (`Atomics.notify`; at most `WAIT_LIMIT_MS`, so a
 *   test that never releases it does not hang a worker for good), then sets [2] to 1. No wall
 *   time decides anything: a test asserts on the order of these marks and of responses;
 * - `{op:"exchange", n}`: every worker sends `n` numbered messages to every worker (itself
 *   included) on exchange channel 7; when a worker has received all `n × peers`, it responds
 *   `{op:"exchanged", worker, inOrder}` (`inOrder`: every sender's messages arrived in order).
 * Responses of `onConnection` are `{op:"connected", nonce, worker}`.
 *
 * Forwarded bytes (`decodeCommand`): the frame `echo:<id>` (UTF-8) is `{op:"echo", id}`, applied
 * with `forwarded: true` (its response says so); anything else is unreadable.
 *
 * Encoded responses (`encodeResponses`): an echo whose id starts with "b" leaves with `bytes`,
 * its id's UTF-8 — a view of one buffer per message, transferred.
 */
import type { WorkerSpec } from "../cluster-spec.js";
import { ExchangeRouter } from "../communication/exchange-router.js";

export type EchoCommand =
  | { readonly op: "echo"; readonly id: string; readonly forwarded?: true }
  | { readonly op: "internal"; readonly id: string; readonly from: number }
  | { readonly op: "log" }
  | { readonly op: "crash" }
  | { readonly op: "wait"; readonly worker: number; readonly signal: Int32Array }
  | { readonly op: "exchange"; readonly n: number };

export type EchoResponse =
  | {
      readonly op: "echo";
      readonly id: string;
      readonly worker: number;
      readonly seq: number;
      readonly internal: boolean;
      /** Present when the command reached the worker as bytes. */
      readonly forwarded?: true;
      /** Ids starting with "b": the id's UTF-8, encoded by `encodeResponses`. */
      readonly bytes?: Uint8Array;
    }
  | { readonly op: "log"; readonly worker: number; readonly ids: readonly string[] }
  | { readonly op: "connected"; readonly nonce: string; readonly worker: number }
  | { readonly op: "exchanged"; readonly worker: number; readonly inOrder: boolean };

/** Longest a `wait` blocks its worker when the test never releases it. */
const WAIT_LIMIT_MS = 120_000;

const spec: WorkerSpec<EchoCommand, EchoResponse> = {
  createWorker(ctx) {
    const applied: string[] = [];
    const channel = new ExchangeRouter<number>(ctx.mesh, "echo:exchange", ctx.requestStep)
      .open(0)
      .channel(7);
    let expected = 0;
    let received = 0;
    let inOrder = true;
    const lastFrom = new Map<number, number>();
    return {
      onConnection(nonce) {
        ctx.respond({ op: "connected", nonce, worker: ctx.index });
      },
      apply(cmd, { seq, internal }) {
        switch (cmd.op) {
          case "echo":
            applied.push(cmd.id);
            ctx.respond({
              op: "echo",
              id: cmd.id,
              worker: ctx.index,
              seq,
              internal,
              ...(cmd.forwarded ? { forwarded: true as const } : {}),
            });
            return;
          case "internal":
            if (cmd.from === ctx.index) ctx.sequence({ op: "echo", id: cmd.id });
            return;
          case "log":
            ctx.respond({ op: "log", worker: ctx.index, ids: [...applied] });
            return;
          case "crash":
            if (ctx.index === 0) throw new Error("crash requested");
            return;
          case "wait":
            if (ctx.index === cmd.worker) {
              // Blocked: this thread handles no message meanwhile.
              Atomics.store(cmd.signal, 1, 1);
              Atomics.wait(cmd.signal, 0, 0, WAIT_LIMIT_MS);
              Atomics.store(cmd.signal, 2, 1);
            }
            return;
          case "exchange":
            expected += cmd.n * ctx.peers;
            for (let i = 0; i < cmd.n; i++) for (let w = 0; w < ctx.peers; w++) channel.send(w, i);
            return;
        }
      },
      step() {
        channel.drain((from, i) => {
          if (i !== (lastFrom.get(from) ?? -1) + 1) inOrder = false;
          lastFrom.set(from, i);
          received++;
        });
        if (expected > 0 && received === expected) {
          ctx.respond({ op: "exchanged", worker: ctx.index, inOrder });
          expected = 0;
          received = 0;
          lastFrom.clear();
        }
        return false;
      },
    };
  },
  encodeResponses(responses) {
    const encoded: Array<[number, Uint8Array]> = [];
    let total = 0;
    responses.forEach((r, i) => {
      const e = r as EchoResponse;
      if (e.op !== "echo" || !e.id.startsWith("b")) return;
      const b = new TextEncoder().encode(e.id);
      encoded.push([i, b]);
      total += b.length;
    });
    if (encoded.length === 0) return undefined;
    const buffer = new ArrayBuffer(total);
    const all = new Uint8Array(buffer);
    let at = 0;
    for (const [i, b] of encoded) {
      all.set(b, at);
      responses[i] = { ...(responses[i] as EchoResponse), bytes: all.subarray(at, at + b.length) };
      at += b.length;
    }
    return buffer;
  },
  decodeCommand(bytes, at = 0, end = bytes.length) {
    const text = new TextDecoder().decode(bytes.subarray(at, end));
    return text.startsWith("echo:")
      ? { op: "echo", id: text.slice(5), forwarded: true }
      : undefined;
  },
};
export default spec;
