/**
 * Tests only: an in-memory `ReplicaConnector` — the seam both legacy controllers take per
 * instance — so the legacy compute and storage instances run without a network. Each incarnation
 * "connects" in a microtask (reading its replay then, as a real stream does when it opens);
 * the test injects responses and failures per replica. Its rehydration policy respawns a failed
 * incarnation synchronously (no backoff), so a test sees the next incarnation at once. With
 * `reportSent`, every replayed and live command is reported through `onCommandSent`, as a real
 * task does when it writes it (the quarantine's input).
 */
import type { ReplicaConnectionOptions, ReplicaConnectionState } from "../../replicas/index.js";

/** One incarnation as the fake sees it. */
export interface FakeIncarnation<C, R> {
  readonly epoch: number;
  readonly opts: ReplicaConnectionOptions<C, R>;
  state: ReplicaConnectionState;
  /** The replay read when it connected (undefined until then). */
  replay: readonly C[] | undefined;
  /** Live commands sent to it. */
  readonly sent: C[];
}

/** The fake connector and its handles. */
export interface FakeConnector<C, R> {
  /** Pass as `connector` to `createInstance` (typed loosely: the legacy packages' own seam type). */
  readonly connector: never;
  /** The current incarnation of a replica. */
  current(replicaId: string): FakeIncarnation<C, R> | undefined;
  /** Every incarnation ever built, oldest first. */
  readonly incarnations: FakeIncarnation<C, R>[];
  respond(replicaId: string, responses: readonly R[]): void;
  fail(replicaId: string, message: string | Error): void;
}

/** Builds a fake connector (see the file comment). */
export function createFakeConnector<C, R>(
  options: { readonly reportSent?: boolean } = {},
): FakeConnector<C, R> {
  const report = (opts: ReplicaConnectionOptions<C, R>, commands: readonly C[]) => {
    if (options.reportSent === true) for (const c of commands) opts.onCommandSent?.(c);
  };
  const incarnations: FakeIncarnation<C, R>[] = [];
  const current = new Map<string, FakeIncarnation<C, R>>();
  const connector = (opts: ReplicaConnectionOptions<C, R>) => {
    const inc: FakeIncarnation<C, R> = {
      epoch: opts.epoch,
      opts,
      state: "connecting",
      replay: undefined,
      sent: [],
    };
    incarnations.push(inc);
    current.set(opts.replicaId, inc);
    queueMicrotask(() => {
      if (inc.state !== "connecting") return;
      inc.replay = opts.replay();
      inc.state = "connected";
      opts.onConnected(opts.epoch);
      report(opts, inc.replay);
    });
    return {
      epoch: opts.epoch,
      get state() {
        return inc.state;
      },
      send: (commands: readonly C[]) => {
        if (inc.state !== "connected") return;
        inc.sent.push(...commands);
        report(opts, commands);
      },
      close: async () => {
        inc.state = "closed";
      },
    };
  };
  const rehydration = {
    forReplica: () => ({
      started() {},
      failed(respawn: () => void) {
        respawn();
        return 0;
      },
      cancel() {},
    }),
  };
  Object.assign(connector, { rehydration });
  return {
    connector: connector as never,
    current: (replicaId) => current.get(replicaId),
    incarnations,
    respond(replicaId, responses) {
      const inc = current.get(replicaId);
      if (inc === undefined || inc.state !== "connected") return;
      inc.opts.onResponses(inc.epoch, responses);
    },
    fail(replicaId, message) {
      const inc = current.get(replicaId);
      if (inc === undefined || inc.state !== "connected") return;
      inc.state = "failed";
      inc.opts.onFailed(inc.epoch, typeof message === "string" ? new Error(message) : message);
    },
  };
}
