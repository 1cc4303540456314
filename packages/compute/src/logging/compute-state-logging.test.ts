/**
 * `ComputeState` with introspection (one worker, in process, a controlled clock): the rows a
 * dataflow's creation, drop and peeks produce, peeks of log indexes (waiting for the log upper
 * like any peek), and interval 0 costing nothing (no events built, no operator timing).
 */
import { Graph } from "@mzts/dataflow";
import {
  eventLogger,
  type LogEventBody,
  type LoggingHost,
  UnifiedLoggingHost,
} from "@mzts/mz-cluster/logging";
import type {
  ComputeCommand,
  ComputeResponse,
  DataflowDescription,
  LoggingConfig,
  Peek,
} from "@mzts/protocol";
import type { Row, Update } from "@mzts/repr";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ComputeState, type WorkerResponse } from "../compute-state.js";
import { LegacyComputeLogging } from "../legacy/logging/legacy-logging.js";
import { conformanceConfig, logIndexId } from "./conformance.js";

afterEach(() => vi.restoreAllMocks());

const MESH = { index: 0, peers: 1, send() {}, on() {} };

const DF: DataflowDescription = {
  debugName: "constants",
  sourceImports: [],
  indexImports: [],
  objectsToBuild: [
    {
      id: "u10",
      plan: {
        kind: "constant",
        rows: [
          [[1n, "a"], 1],
          [[2n, "b"], 1],
        ],
        arity: 2,
      },
    },
  ],
  indexExports: [{ id: "u1", objectId: "u10", key: [0] }],
  sinkExports: [{ id: "u2", fromId: "u10", connection: { kind: "subscribe" } }],
  asOf: 0n,
  until: null,
};

const INDEX_ONLY: DataflowDescription = { ...DF, sinkExports: [] };

let peeks = 0;
function peekOf(id: string, arity: number, t: bigint): Peek {
  const all = Array.from({ length: arity }, (_, i) => i);
  return {
    uuid: `00000000-0000-4000-8000-${(++peeks).toString(16).padStart(12, "0")}`,
    target: { kind: "index", id },
    arity,
    timestamp: t,
    mapFilterProject: { exprs: [], predicates: [], projection: all },
    finishing: { orderBy: [], offset: 0, project: all },
  };
}

class Worker {
  ms = 10_000;
  readonly out: WorkerResponse[] = [];
  readonly state: ComputeState;

  constructor(readonly logging: LoggingHost) {
    this.state = new ComputeState(0, 1, {
      mesh: MESH,
      config: { dataDir: "/tmp/log-compute-x" },
      respond: (r) => this.out.push(r),
      requestStep: () => {},
      logger: pino({ level: "silent" }),
      logging,
      now: () => this.ms,
    });
  }

  send(...cmds: ComputeCommand[]): void {
    for (const c of cmds) this.state.apply(c);
    for (let i = 0; i < 10 && this.state.step(); i++);
  }

  /** Moves the clock, runs the maintenance tick and steps. */
  tick(ms: number): void {
    this.ms = ms;
    this.state.maintain();
    for (let i = 0; i < 10 && this.state.step(); i++);
  }

  answer(uuid: string): (ComputeResponse & { kind: "peekResponse" }) | undefined {
    return this.out.find(
      (r): r is ComputeResponse & { kind: "peekResponse" } =>
        r.kind === "peekResponse" && r.uuid === uuid,
    );
  }

  /** Peeks relation `name`'s log index at `t`; the rows (count 1 each) sorted. */
  rows(name: string, t: number): Row[] {
    const arity = this.logging.index(logIndexId(name))!.arity;
    const p = peekOf(logIndexId(name), arity, BigInt(t));
    this.send({ kind: "peek", peek: p });
    const r = this.answer(p.uuid);
    if (r?.response.kind !== "rows")
      throw new Error(`peek of ${name}: ${JSON.stringify(r?.response)}`);
    return r.response.rows.map(([row, n]) => {
      expect(n).toBe(1);
      return row;
    });
  }
}

const instance = (logging: LoggingConfig): ComputeCommand => ({
  kind: "createInstance",
  config: { logging },
});

type HostKind = "legacy" | "unified";

function started(logging = conformanceConfig(1000), kind: HostKind = "legacy"): Worker {
  const now = (): number => w.ms;
  const w: Worker = new Worker(
    kind === "legacy"
      ? new LegacyComputeLogging({ worker: 0, now })
      : new UnifiedLoggingHost({ worker: 0, clock: now }),
  );
  w.send(instance(logging), { kind: "initializationComplete" });
  w.tick(10_000);
  return w;
}

describe("ComputeState introspection", () => {
  it("a dataflow's creation and drop produce and retract its rows, peeked like an index", () => {
    const w = started();
    w.ms = 10_200;
    w.send({ kind: "createDataflow", dataflow: DF });
    w.tick(11_000);
    expect(w.rows("dataflows", 11_000)).toEqual([[0n, 0n, "constants"]]);
    expect(w.rows("dataflow_exports", 11_000)).toEqual(
      expect.arrayContaining([
        ["u1", 0n, 0n, "index"],
        ["u2", 0n, 0n, "subscribe"],
      ]),
    );
    const ops = w.rows("operators", 11_000);
    expect(ops.length).toBeGreaterThan(2);
    expect(ops.every(([df, , worker]) => df === 0n && worker === 0n)).toBe(true);
    // The constant is complete at once: both exports hydrate, the index holds two records.
    const hydration = w.rows("hydration_times", 11_000);
    expect(hydration.map(([id]) => id).sort()).toEqual(["u1", "u2"]);
    expect(hydration.every(([, , ns]) => typeof ns === "bigint" && ns >= 0n)).toBe(true);
    const [size] = w.rows("arrangement_sizes", 11_000);
    expect(size!.slice(0, 4)).toEqual(["u1", 0n, 2n, 1n]);
    expect(size![4] as bigint).toBeGreaterThan(0n);
    expect(w.rows("scheduling_elapsed", 11_000).length).toBeGreaterThan(0);
    // Closed frontiers have no rows.
    expect(w.rows("compute_frontiers", 11_000)).toEqual([]);

    w.ms = 11_300;
    w.send({ kind: "allowCompaction", id: "u1", frontier: null });
    w.send({ kind: "allowCompaction", id: "u2", frontier: null });
    w.tick(12_000);
    for (const name of ["dataflows", "dataflow_exports", "operators", "hydration_times"]) {
      expect(w.rows(name, 12_000)).toEqual([]);
      expect(w.rows(name, 11_000)).not.toEqual([]);
    }
    for (const name of ["arrangement_sizes", "scheduling_elapsed"]) {
      expect(w.rows(name, 12_000)).toEqual([]);
    }
  });

  it("error_counts counts the rows of an index's error collection", () => {
    const w = started();
    const failing: DataflowDescription = {
      ...INDEX_ONLY,
      debugName: "errors",
      objectsToBuild: [
        {
          id: "u10",
          plan: {
            kind: "map",
            input: DF.objectsToBuild[0]!.plan,
            exprs: [
              {
                kind: "binary",
                op: "div",
                left: { kind: "column", index: 0 },
                right: { kind: "literal", value: 0n },
              },
            ],
          },
        },
      ],
    };
    w.ms = 10_200;
    w.send({ kind: "createDataflow", dataflow: failing });
    w.tick(11_000);
    expect(w.rows("error_counts", 11_000)).toEqual([["u1", 0n, 2n]]);
  });

  it("a waiting peek is an active peek until answered, then counts in peek_durations", () => {
    const w = started();
    w.ms = 10_100;
    const waiting = peekOf(logIndexId("dataflows"), 3, 15_000n);
    w.send({ kind: "peek", peek: waiting });
    expect(w.answer(waiting.uuid)).toBeUndefined();
    w.tick(11_000);
    expect(w.rows("active_peeks", 11_000)).toEqual([
      [waiting.uuid, 0n, logIndexId("dataflows"), 15_000n],
    ]);
    // The log upper passes the peek's time at the next tick: answered (no dataflows).
    w.tick(15_000);
    expect(w.answer(waiting.uuid)?.response).toEqual({ kind: "rows", rows: [] });
    w.tick(16_000);
    const active = w.rows("active_peeks", 16_000);
    expect(active.filter(([uuid]) => uuid === waiting.uuid)).toEqual([]);
    const counted = w.rows("peek_durations", 16_000);
    // The waiting peek plus the peeks `rows()` made, each in its bucket.
    expect(counted.reduce((n, [, , c]) => n + (c as bigint), 0n)).toBeGreaterThanOrEqual(2n);
  });

  it("reports log index uppers as frontiers; allowCompaction and schedule of a log index are accepted", () => {
    const w = started();
    w.tick(12_400);
    const id = logIndexId("operators");
    const reports = w.out.filter(
      (r): r is ComputeResponse & { kind: "frontiers" } => r.kind === "frontiers" && r.id === id,
    );
    expect(reports.at(-1)?.frontiers).toEqual({ write: 12_001n, input: 12_001n, output: 12_001n });
    w.send({ kind: "allowCompaction", id, frontier: 5_000n }, { kind: "schedule", id });
    expect(w.out.filter((r) => r.kind === "commandError")).toEqual([]);
  });

  it.each<HostKind>(["legacy", "unified"])(
    "reconciliation (%s host): the same config keeps the rows and ends dropped peeks; another re-announces",
    (kind) => {
      const w = started(conformanceConfig(1000), kind);
      w.ms = 10_200;
      w.send({ kind: "createDataflow", dataflow: INDEX_ONLY });
      const waiting = peekOf(logIndexId("dataflows"), 3, 50_000n);
      w.send({ kind: "peek", peek: waiting });
      w.tick(11_000);
      expect(w.rows("active_peeks", 11_000).map(([u]) => u)).toContain(waiting.uuid);
      const index = w.logging.index(logIndexId("dataflows"));
      /** A new controller at `ms` replaying the same dataflow with logging at `intervalMs`. */
      const reconnect = (nonce: string, ms: number, intervalMs: number) => {
        w.state.onConnection(nonce);
        w.ms = ms;
        w.send(
          instance(conformanceConfig(intervalMs)),
          { kind: "createDataflow", dataflow: INDEX_ONLY },
          { kind: "initializationComplete" },
        );
      };
      reconnect("n2", 11_200, 1000);
      w.tick(12_000);
      expect(w.logging.index(logIndexId("dataflows"))).toBe(index);
      // Reused: still build number 0, rows untouched.
      expect(w.rows("dataflows", 12_000)).toEqual([[0n, 0n, "constants"]]);
      expect(w.rows("active_peeks", 12_000).map(([u]) => u)).not.toContain(waiting.uuid);
      // Another interval: new indexes, the live dataflow announced to them again.
      reconnect("n3", 12_100, 500);
      w.tick(13_000);
      expect(w.logging.index(logIndexId("dataflows"))).not.toBe(index);
      expect(w.rows("dataflows", 12_500)).toEqual([[0n, 0n, "constants"]]);
      expect(w.rows("dataflow_exports", 12_500)).toEqual([["u1", 0n, 0n, "index"]]);
    },
  );

  for (const kind of ["legacy", "unified"] as const) {
    it(`a subscribe imports a log index like an index: history, then its changes (${kind})`, () => {
      const w = started(conformanceConfig(1000), kind);
      w.ms = 10_200;
      w.send({ kind: "createDataflow", dataflow: INDEX_ONLY });
      w.tick(11_000);
      const hydration = logIndexId("hydration_times");
      const tap: DataflowDescription = {
        debugName: "hydration tap",
        sourceImports: [],
        indexImports: [{ id: hydration, arity: 3, key: [0, 1] }],
        objectsToBuild: [{ id: "t9", plan: { kind: "get", id: hydration, arity: 3 } }],
        indexExports: [],
        sinkExports: [{ id: "t8", fromId: "t9", connection: { kind: "subscribe" } }],
        asOf: 10_500n,
        until: null,
      };
      w.send({ kind: "createDataflow", dataflow: tap });
      w.ms = 11_300;
      w.send({ kind: "allowCompaction", id: "u1", frontier: null });
      w.tick(12_000);
      const updates: Update[] = [];
      let upper: bigint | null = 0n;
      for (const r of w.out) {
        if (r.kind !== "subscribeResponse" || r.id !== "t8") continue;
        expect(r.response.kind).toBe("batch");
        if (r.response.kind !== "batch" || r.response.result.kind !== "updates") continue;
        updates.push(...r.response.result.updates);
        upper = r.response.upper;
      }
      expect(upper).toBe(12_001n);
      // The export hydrated at 11 000 (history, forwarded to the as-of's log time) and its row
      // was retracted at 12 000 when the index was dropped (a change after the import).
      const at = (t: bigint) =>
        updates
          .filter(([row, time]) => row[0] === "u1" && time <= t)
          .reduce((n, [, , d]) => n + d, 0);
      expect(at(11_000n)).toBe(1);
      expect(at(12_000n)).toBe(0);
    });
  }

  it("a peek of a log index that is not installed is an unknown id", () => {
    const w = started(conformanceConfig(0));
    const p = peekOf(logIndexId("dataflows"), 3, 1n);
    w.send({ kind: "peek", peek: p });
    expect(w.answer(p.uuid)?.response.kind).toBe("error");
    expect(w.out.some((r) => r.kind === "commandError")).toBe(true);
  });

  it("interval 0 costs nothing: no events built, no operator timing", () => {
    const logged: LogEventBody[] = [];
    const spyLogger = eventLogger((e) => logged.push(e), false);
    const legacy = new LegacyComputeLogging({ worker: 0 });
    const host: LoggingHost = {
      get logger() {
        if (!legacy.logger.enabled) return spyLogger;
        return eventLogger((e: LogEventBody) => logged.push(e));
      },
      configure: (c) => legacy.configure(c),
      index: (id) => legacy.index(id),
      step: (now) => legacy.step(now),
      close: () => legacy.close(),
    };
    const timing = vi.spyOn(Graph.prototype, "enableTiming");
    const run = (config: LoggingConfig) => {
      const w = new Worker(host);
      w.send(instance(config), { kind: "initializationComplete" });
      w.send({ kind: "createDataflow", dataflow: DF });
      const now = vi.spyOn(performance, "now");
      w.tick(11_000);
      w.send({ kind: "peek", peek: peekOf("u1", 2, 0n) });
      w.tick(12_000);
      const clockReads = now.mock.calls.length;
      now.mockRestore();
      void w.state.close();
      return clockReads;
    };
    expect(run(conformanceConfig(0))).toBe(0);
    expect(logged).toEqual([]);
    expect(timing).not.toHaveBeenCalled();
    // The same run with logging on does all three (so the check above can fail).
    expect(run(conformanceConfig(1000))).toBeGreaterThan(0);
    expect(logged.map((e) => e.kind)).toEqual(
      expect.arrayContaining(["dataflowCreated", "peekStarted", "peekEnded", "operatorElapsed"]),
    );
    expect(timing).toHaveBeenCalled();
  });
});
