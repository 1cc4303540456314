/**
 * A small workload for tests and benchmarks of the runtime itself (@internal — no semver).
 *
 * Commands:
 * - `{op:"echo", id}`: every worker responds `{op:"echo", id, worker, seq}`;
 * - `{op:"internal", id, from}`: worker `from` submits an internal command `{op:"echo", id}`
 *   through `sequence()`, so it is ordered like a controller command;
 * - `{op:"log"}`: every worker responds with the list of `id`s it applied, in order;
 * - `{op:"crash"}`: worker 0 throws from `apply` (tests worker failure).
 * Responses of `onConnection` are `{op:"connected", nonce, worker}`.
 */
import type { WorkerSpec } from "../cluster-spec.js";

export type EchoCommand =
  | { readonly op: "echo"; readonly id: string }
  | { readonly op: "internal"; readonly id: string; readonly from: number }
  | { readonly op: "log" }
  | { readonly op: "crash" };

export type EchoResponse =
  | {
      readonly op: "echo";
      readonly id: string;
      readonly worker: number;
      readonly seq: number;
      readonly internal: boolean;
    }
  | { readonly op: "log"; readonly worker: number; readonly ids: readonly string[] }
  | { readonly op: "connected"; readonly nonce: string; readonly worker: number };

const spec: WorkerSpec<EchoCommand, EchoResponse> = {
  createWorker(ctx) {
    const applied: string[] = [];
    return {
      onConnection(nonce) {
        ctx.respond({ op: "connected", nonce, worker: ctx.index });
      },
      apply(cmd, { seq, internal }) {
        switch (cmd.op) {
          case "echo":
            applied.push(cmd.id);
            ctx.respond({ op: "echo", id: cmd.id, worker: ctx.index, seq, internal });
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
        }
      },
      step: () => false,
    };
  },
};
export default spec;
