/**
 * Conformance of a `LoggingHost` (test-only helper, subpath `@mzts/compute/testing`): the
 * TEAM contract's event → row semantics, log times, uppers and sinces, checked the same way for
 * any host — compute's legacy one and the unified logging dataflows — so both give the rows the
 * phase 2 e2e compares.
 *
 * Framework-free: `loggingHostConformance(factory)` returns named cases whose `run()` throws an
 * `Error` describing the first difference; a test file wraps each in `it(case.name, case.run)`.
 * The factory builds a fresh host for worker `worker` whose events are stamped by `now()` (the
 * cases move that clock). Storage relations are checked only when the host installs them.
 */
import {
  LOG_RETENTION_MS,
  type LogEventBody,
  type LoggingHost,
  NO_LOGGER,
} from "@mzts/mz-cluster/logging";
import { LOG_RELATIONS, type LoggingConfig } from "@mzts/protocol";
import type { Frontier, Row, Update } from "@mzts/repr";

/** Builds a fresh, unconfigured host of worker `worker`, stamping events with `now()`. */
export type LoggingHostFactory = (options: {
  readonly worker: number;
  readonly now: () => number;
}) => LoggingHost;

export interface ConformanceCase {
  readonly name: string;
  run(): void;
}

/** The index id every case installs relation `name` under. */
export const logIndexId = (name: string): string => `log-${name}`;

/** A config installing every relation (`log-<name>` ids). */
export function conformanceConfig(
  intervalMs = 1000,
  extra: [string, string][] = [],
): LoggingConfig {
  return {
    enabled: true,
    intervalMs,
    logLogging: false,
    indexLogs: new Map([
      ...LOG_RELATIONS.map((r) => [r.name, logIndexId(r.name)] as [string, string]),
      ...extra,
    ]),
  };
}

const W = 3;
const w = BigInt(W);
const START = 10_000;

/** A configured host at upper START + 1, with a settable clock. */
class Fixture {
  ms = START;
  readonly host: LoggingHost;
  /** Whether the per-tick events go through the logger's typed calls (else as objects). */
  readonly #typed: boolean;

  constructor(
    typed: boolean,
    factory: LoggingHostFactory,
    config: LoggingConfig = conformanceConfig(),
  ) {
    this.#typed = typed;
    this.host = factory({ worker: W, now: () => this.ms });
    this.host.configure(config);
    this.settle(START);
  }

  /** Logs `e` at wall clock `atMs`. */
  log(atMs: number, ...events: LogEventBody[]): void {
    this.ms = atMs;
    for (const e of events) {
      const logger = this.host.logger;
      if (!this.#typed) logger.log(e);
      else if (e.kind === "operatorElapsed")
        logger.operatorElapsed(e.dataflowId, e.operatorId, e.elapsedNs);
      else if (e.kind === "exportFrontier") logger.exportFrontier(e.exportId, e.time);
      else if (e.kind === "importFrontier") logger.importFrontier(e.exportId, e.importId, e.time);
      else if (e.kind === "arrangementSize")
        logger.arrangementSize(e.exportId, e.records, e.batches, e.sizeBytes);
      else logger.log(e);
    }
  }

  /** Steps the host at `nowMs` until it has nothing left to do. */
  settle(nowMs: number): void {
    this.ms = Math.max(this.ms, nowMs);
    for (let i = 0; i < 1000 && this.host.step(nowMs); i++);
  }

  /** Relation `name`'s rows as of `t` (each must have count 1), as sorted text. */
  rows(name: string, t: number): string[] {
    const ix = this.host.index(logIndexId(name));
    if (ix === undefined) throw new Error(`relation ${name}: no log index ${logIndexId(name)}`);
    const out: string[] = [];
    for (const [row, n] of ix.arrangement.asOf(BigInt(t))) {
      if (n !== 1) throw new Error(`relation ${name} at ${t}: row ${show(row)} has count ${n}`);
      out.push(show(row));
    }
    return out.sort();
  }

  expect(name: string, t: number, expected: Row[]): void {
    const got = this.rows(name, t);
    const want = expected.map(show).sort();
    if (show(got) !== show(want)) {
      throw new Error(
        `relation ${name} at ${t}:\n  expected ${want.join(" ") || "(none)"}\n  got      ${got.join(" ") || "(none)"}`,
      );
    }
  }
}

/**
 * An importer of a log index that checks the feed contract as it goes: every update arrives
 * before the frontier that completes it, and never at a time an earlier frontier completed.
 */
class RecordingFeed {
  readonly updates: Update[] = [];
  readonly frontiers: Frontier[] = [];
  #unconfirmed: Update[] = [];

  send(updates: Iterable<Update>): void {
    const last = this.frontiers.at(-1);
    for (const u of updates) {
      if (last !== undefined && last !== null && u[1] < last) {
        throw new Error(`feed: update at ${u[1]} after frontier ${last} completed it`);
      }
      this.updates.push(u);
      this.#unconfirmed.push(u);
    }
  }

  advance(f: Frontier): void {
    for (const u of this.#unconfirmed) {
      if (f !== null && u[1] >= f) throw new Error(`feed: update at ${u[1]} not complete at ${f}`);
    }
    this.#unconfirmed = [];
    this.frontiers.push(f);
  }

  /** The collection as of `t`, as sorted text of rows with count 1. */
  rows(t: number): string[] {
    const counts = new Map<string, number>();
    for (const [row, time, diff] of this.updates) {
      if (time <= BigInt(t)) counts.set(show(row), (counts.get(show(row)) ?? 0) + diff);
    }
    const out: string[] = [];
    for (const [row, n] of counts) {
      if (n !== 0 && n !== 1) throw new Error(`feed: row ${row} has count ${n} at ${t}`);
      if (n === 1) out.push(row);
    }
    return out.sort();
  }
}

/** Checks that `feed` holds what relation `name`'s index holds at each of `times`. */
function sameAsIndex(f: Fixture, feed: RecordingFeed, name: string, times: number[]): void {
  for (const t of times) {
    const got = show(feed.rows(t));
    const want = show(f.rows(name, t));
    check(got === want, `${name} at ${t}: feed ${got}, index ${want}`);
  }
}

function show(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `${x}n` : x));
}

function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(message);
}

const COMPUTE = LOG_RELATIONS.filter((r) => r.workload === "compute").map((r) => r.name);

const CREATED: LogEventBody = {
  kind: "dataflowCreated",
  dataflowId: 7,
  name: "df7",
  exports: [
    { id: "u1", kind: "index" },
    { id: "t2", kind: "subscribe" },
  ],
  operators: [
    { id: 0, name: "source s1" },
    { id: 1, name: "arrange" },
  ],
  imports: ["s1"],
};

/** `CREATED` as dataflow `id` (`df<id>`), with the same exports, operators and imports. */
function createdAs(id: number): LogEventBody {
  const e = CREATED as Extract<LogEventBody, { kind: "dataflowCreated" }>;
  return { ...e, dataflowId: id, name: `df${id}` };
}

/** Every export- or dataflow-keyed state event of dataflow 7 / export `id`. */
function states(id: string): LogEventBody[] {
  return [
    { kind: "exportFrontier", exportId: id, time: 5n },
    { kind: "importFrontier", exportId: id, importId: "s1", time: 4n },
    { kind: "arrangementSize", exportId: id, records: 10, batches: 2, sizeBytes: 999 },
    { kind: "operatorElapsed", dataflowId: 7, operatorId: 1, elapsedNs: 1234 },
    { kind: "errorCount", exportId: id, count: 2 },
    { kind: "hydrated", exportId: id, sinceCreatedNs: 5_000_000 },
  ];
}

/**
 * The conformance cases for hosts built by `factory`. `typed`: the per-tick compute events
 * (`operatorElapsed`, `exportFrontier`, `importFrontier`, `arrangementSize`) are logged with the
 * logger's typed calls instead of as event objects (the rows must be the same).
 */
export function loggingHostConformance(
  factory: LoggingHostFactory,
  { typed = false }: { readonly typed?: boolean } = {},
): ConformanceCase[] {
  return [
    {
      name: "interval 0 or disabled installs nothing and keeps NO_LOGGER",
      run() {
        for (const config of [
          conformanceConfig(0),
          { ...conformanceConfig(1000), enabled: false },
        ]) {
          const host = factory({ worker: W, now: () => START });
          host.configure(config);
          check(
            host.logger === NO_LOGGER,
            `intervalMs ${config.intervalMs}: logger is not NO_LOGGER`,
          );
          for (const r of LOG_RELATIONS) {
            check(
              host.index(logIndexId(r.name)) === undefined,
              `${r.name} installed while disabled`,
            );
          }
          check(!host.step(START), "step() did work while disabled");
          host.close();
        }
      },
    },
    {
      name: "unknown relation names are ignored; the others are installed",
      run() {
        const f = new Fixture(
          typed,
          factory,
          conformanceConfig(1000, [["no_such_relation", "log-x"]]),
        );
        check(f.host.index("log-x") === undefined, "an unknown relation got an index");
        for (const name of COMPUTE) {
          const ix = f.host.index(logIndexId(name));
          check(ix !== undefined, `${name} is not installed`);
          check(
            ix!.id === logIndexId(name) && ix!.relation.name === name,
            `${name}: wrong id or relation`,
          );
          check(
            ix!.arity === ix!.relation.columns.length,
            `${name}: arity is not the column count`,
          );
        }
      },
    },
    {
      name: "upper follows the clock at interval granularity; since trails by the retention",
      run() {
        const f = new Fixture(typed, factory);
        f.settle(12_345);
        const later = START + LOG_RETENTION_MS + 20_500;
        f.settle(later);
        f.settle(later - 5_000);
        const upper = BigInt(Math.floor(later / 1000) * 1000 + 1);
        const since = BigInt(Math.floor((Number(upper) - 1 - LOG_RETENTION_MS) / 1000) * 1000);
        for (const name of COMPUTE) {
          const ix = f.host.index(logIndexId(name))!;
          check(
            ix.arrangement.upper === upper,
            `${name}: upper ${ix.arrangement.upper}, expected ${upper}`,
          );
          check(
            ix.errors.upper === upper,
            `${name}: errors upper ${ix.errors.upper}, expected ${upper}`,
          );
          check(
            ix.arrangement.since === since,
            `${name}: since ${ix.arrangement.since}, expected ${since}`,
          );
          check(ix.errors.asOf(upper - 1n).length === 0, `${name}: errors are not empty`);
        }
      },
    },
    {
      name: "dataflowCreated inserts dataflows, exports, operators and null hydration times at the log time",
      run() {
        const f = new Fixture(typed, factory);
        f.log(10_500, CREATED);
        f.settle(11_200);
        for (const name of ["dataflows", "dataflow_exports", "operators", "hydration_times"]) {
          f.expect(name, 10_000, []);
        }
        f.expect("dataflows", 11_000, [[7n, w, "df7"]]);
        f.expect("dataflow_exports", 11_000, [
          ["u1", w, 7n, "index"],
          ["t2", w, 7n, "subscribe"],
        ]);
        f.expect("operators", 11_000, [
          [7n, 0n, w, "source s1"],
          [7n, 1n, w, "arrange"],
        ]);
        f.expect("hydration_times", 11_000, [
          ["u1", w, null],
          ["t2", w, null],
        ]);
      },
    },
    {
      name: "state events upsert their row; a null frontier or zero count retracts it",
      run() {
        const f = new Fixture(typed, factory);
        f.log(10_500, CREATED, ...states("u1"));
        f.settle(11_000);
        f.expect("compute_frontiers", 11_000, [["u1", w, 5n]]);
        f.expect("compute_import_frontiers", 11_000, [["u1", "s1", w, 4n]]);
        f.expect("arrangement_sizes", 11_000, [["u1", w, 10n, 2n, 999n]]);
        f.expect("scheduling_elapsed", 11_000, [[7n, 1n, w, 1234n]]);
        f.expect("error_counts", 11_000, [["u1", w, 2n]]);
        f.expect("hydration_times", 11_000, [
          ["u1", w, 5_000_000n],
          ["t2", w, null],
        ]);
        f.log(
          11_400,
          { kind: "exportFrontier", exportId: "u1", time: 6n },
          { kind: "exportFrontier", exportId: "u1", time: 7n },
          { kind: "importFrontier", exportId: "u1", importId: "s1", time: null },
          { kind: "errorCount", exportId: "u1", count: 0 },
          { kind: "arrangementSize", exportId: "u1", records: 10, batches: 2, sizeBytes: 999 },
        );
        f.settle(12_000);
        f.expect("compute_frontiers", 12_000, [["u1", w, 7n]]);
        f.expect("compute_import_frontiers", 12_000, []);
        f.expect("error_counts", 12_000, []);
        f.expect("arrangement_sizes", 12_000, [["u1", w, 10n, 2n, 999n]]);
        f.expect("compute_frontiers", 11_000, [["u1", w, 5n]]);
        f.log(12_100, { kind: "exportFrontier", exportId: "u1", time: null });
        f.settle(13_000);
        f.expect("compute_frontiers", 13_000, []);
      },
    },
    {
      name: "dataflowDropped retracts every row of the dataflow and of its exports",
      run() {
        const f = new Fixture(typed, factory);
        f.log(10_500, CREATED, ...states("u1"), ...states("t2"));
        f.settle(11_000);
        f.log(11_500, { kind: "dataflowDropped", dataflowId: 7 });
        f.settle(12_000);
        for (const name of COMPUTE) f.expect(name, 12_000, []);
        f.expect("dataflows", 11_000, [[7n, w, "df7"]]);
      },
    },
    {
      name: "exportDropped retracts only that export's rows",
      run() {
        const f = new Fixture(typed, factory);
        f.log(10_500, CREATED, ...states("u1"), ...states("t2"));
        f.settle(11_000);
        f.log(11_500, { kind: "exportDropped", exportId: "t2" });
        f.settle(12_000);
        f.expect("dataflows", 12_000, [[7n, w, "df7"]]);
        f.expect("dataflow_exports", 12_000, [["u1", w, 7n, "index"]]);
        f.expect("operators", 12_000, [
          [7n, 0n, w, "source s1"],
          [7n, 1n, w, "arrange"],
        ]);
        f.expect("scheduling_elapsed", 12_000, [[7n, 1n, w, 1234n]]);
        f.expect("compute_frontiers", 12_000, [["u1", w, 5n]]);
        f.expect("compute_import_frontiers", 12_000, [["u1", "s1", w, 4n]]);
        f.expect("hydration_times", 12_000, [["u1", w, 5_000_000n]]);
        f.log(12_500, { kind: "dataflowDropped", dataflowId: 7 });
        f.settle(13_000);
        for (const name of COMPUTE) f.expect(name, 13_000, []);
      },
    },
    {
      name: "what comes and goes within a log time writes nothing; across log times it shows",
      run() {
        const f = new Fixture(typed, factory);
        // Created, stepped (not advanced), then dropped at the same log time: no update at all.
        f.log(10_100, CREATED, ...states("u1"));
        f.settle(10_200);
        f.log(10_300, { kind: "peekStarted", uuid: "p", objectId: "u1", time: 1n, atNs: 0 });
        f.settle(10_400);
        f.log(10_500, { kind: "peekEnded", uuid: "p", atNs: 10 });
        f.log(10_600, { kind: "dataflowDropped", dataflowId: 7 });
        f.settle(11_000);
        const dataflowRelations = COMPUTE.filter((n) => n !== "peek_durations");
        for (const name of dataflowRelations) {
          const updates = f.host.index(logIndexId(name))!.arrangement.updateCount;
          if (updates !== 0) throw new Error(`${name}: ${updates} updates, expected none`);
        }
        f.expect("peek_durations", 11_000, [[w, 16n, 1n]]);
        // Created at 12 000 and dropped at 13 000 without a step between: shown at 12 000 only.
        f.log(11_100, CREATED, { kind: "hydrated", exportId: "t2", sinceCreatedNs: 3e6 });
        f.log(11_200, { kind: "exportDropped", exportId: "u1" });
        f.log(12_100, { kind: "dataflowDropped", dataflowId: 7 });
        f.settle(13_000);
        f.expect("dataflows", 12_000, [[7n, w, "df7"]]);
        f.expect("dataflow_exports", 12_000, [["t2", w, 7n, "subscribe"]]);
        f.expect("hydration_times", 12_000, [["t2", w, 3_000_000n]]);
        for (const name of dataflowRelations) f.expect(name, 13_000, []);
      },
    },
    {
      name: "an export id that moves to another dataflow within a log time follows it (held and dropped with it)",
      run() {
        const f = new Fixture(typed, factory);
        f.log(10_100, CREATED, ...states("u1"));
        f.settle(11_000);
        f.expect("compute_frontiers", 11_000, [["u1", w, 5n]]);
        // Dataflow 7 goes; dataflow 8 comes with the same export id and goes at the same log
        // time: its rows (held with it) never show, and 7's are retracted.
        const moved = createdAs(8);
        f.log(
          11_100,
          { kind: "exportFrontier", exportId: "u1", time: 6n },
          { kind: "operatorElapsed", dataflowId: 7, operatorId: 1, elapsedNs: 2000 },
          { kind: "dataflowDropped", dataflowId: 7 },
          moved,
          { kind: "exportFrontier", exportId: "u1", time: 7n },
          { kind: "importFrontier", exportId: "u1", importId: "s1", time: 7n },
          { kind: "arrangementSize", exportId: "u1", records: 3, batches: 1, sizeBytes: 10 },
          { kind: "operatorElapsed", dataflowId: 8, operatorId: 1, elapsedNs: 77 },
          { kind: "dataflowDropped", dataflowId: 8 },
        );
        f.settle(12_000);
        for (const name of COMPUTE) if (name !== "peek_durations") f.expect(name, 12_000, []);
        // A third dataflow with the export id, kept: its rows are its own.
        f.log(12_100, createdAs(9));
        f.log(
          12_200,
          { kind: "exportFrontier", exportId: "u1", time: 9n },
          { kind: "operatorElapsed", dataflowId: 9, operatorId: 1, elapsedNs: 99 },
        );
        f.settle(13_000);
        f.expect("compute_frontiers", 13_000, [["u1", w, 9n]]);
        f.expect("scheduling_elapsed", 13_000, [[9n, 1n, w, 99n]]);
      },
    },
    {
      name: "peeks are active until they end; their durations count per power-of-two bucket",
      run() {
        const f = new Fixture(typed, factory);
        f.log(
          10_500,
          { kind: "peekStarted", uuid: "a", objectId: "u1", time: 42n, atNs: 1_000 },
          { kind: "peekStarted", uuid: "b", objectId: "u1", time: 43n, atNs: 0 },
        );
        f.settle(11_000);
        f.expect("active_peeks", 11_000, [
          ["a", w, "u1", 42n],
          ["b", w, "u1", 43n],
        ]);
        f.expect("peek_durations", 11_000, []);
        f.log(
          11_500,
          { kind: "peekEnded", uuid: "a", atNs: 4_000 },
          { kind: "peekEnded", uuid: "b", atNs: 3_000 },
          { kind: "peekStarted", uuid: "c", objectId: "log-x", time: 44n, atNs: 5_000 },
          { kind: "peekEnded", uuid: "c", atNs: 5_100 },
          { kind: "peekEnded", uuid: "never-started", atNs: 9_000 },
        );
        f.settle(12_000);
        f.expect("active_peeks", 12_000, []);
        f.expect("peek_durations", 12_000, [
          [w, 128n, 1n],
          [w, 4096n, 2n],
        ]);
      },
    },
    {
      name: "an event stamped behind the upper lands at the first interval multiple at or after it",
      run() {
        const f = new Fixture(typed, factory);
        f.settle(20_000);
        f.log(15_000, CREATED);
        f.settle(21_500);
        f.expect("dataflows", 20_000, []);
        f.expect("dataflows", 21_000, [[7n, w, "df7"]]);
      },
    },
    {
      name: "a log index's change feed: complete history, then each complete change once; detach stops it",
      run() {
        const f = new Fixture(typed, factory);
        f.log(10_500, CREATED);
        f.settle(11_000);
        // A change at an open log time (12 000) when the importer attaches.
        f.log(11_200, { kind: "errorCount", exportId: "u1", count: 2 });
        f.settle(11_500);
        const dataflows = new RecordingFeed();
        const errors = new RecordingFeed();
        f.host.index(logIndexId("dataflows"))!.attach(dataflows);
        f.host.index(logIndexId("error_counts"))!.attach(errors);
        check(
          show(dataflows.frontiers) === show([11_001n]),
          `frontiers ${show(dataflows.frontiers)}`,
        );
        check(
          show(dataflows.rows(11_000)) === show(f.rows("dataflows", 11_000)),
          "history differs",
        );
        check(errors.rows(11_000).length === 0, "an incomplete change came with the history");
        f.log(12_300, { kind: "errorCount", exportId: "u1", count: 3 });
        f.settle(13_000);
        sameAsIndex(f, errors, "error_counts", [11_000, 12_000, 13_000]);
        check(errors.frontiers.at(-1) === 13_001n, `feed frontier ${errors.frontiers.at(-1)}`);
        f.host.index(logIndexId("error_counts"))!.detach(errors);
        const seen = errors.updates.length;
        f.log(13_200, { kind: "errorCount", exportId: "u1", count: 4 });
        f.settle(14_000);
        check(errors.updates.length === seen, "a detached feed still got updates");
        check(errors.frontiers.at(-1) === 13_001n, "a detached feed still advanced");
      },
    },
    {
      name: "an importer attaching while changes at open log times are written gets each once",
      run() {
        const f = new Fixture(typed, factory);
        f.log(10_500, CREATED);
        f.settle(11_000);
        // Changes at two open log times (12 000, 13 000): a host may already have written the
        // first to its index (not complete yet) when the importer attaches.
        f.log(11_200, { kind: "errorCount", exportId: "u1", count: 2 });
        f.log(12_300, { kind: "errorCount", exportId: "u1", count: 3 });
        f.settle(11_500);
        const errors = new RecordingFeed();
        f.host.index(logIndexId("error_counts"))!.attach(errors);
        check(errors.rows(11_000).length === 0, "an incomplete change came with the history");
        f.settle(13_000);
        sameAsIndex(f, errors, "error_counts", [11_000, 12_000, 13_000]);
        check(f.rows("error_counts", 13_000).length === 1, "the change is in the index");
      },
    },
    {
      name: "the same configuration again keeps every index and row; close frees them",
      run() {
        const f = new Fixture(typed, factory);
        f.log(10_500, CREATED);
        f.settle(11_000);
        const before = f.host.index(logIndexId("dataflows"));
        f.host.configure(conformanceConfig());
        check(f.host.index(logIndexId("dataflows")) === before, "reconfiguring replaced the index");
        check(f.host.logger.enabled, "reconfiguring disabled the logger");
        f.expect("dataflows", 11_000, [[7n, w, "df7"]]);
        f.host.close();
        check(f.host.logger.enabled === false, "the logger is enabled after close");
        for (const r of LOG_RELATIONS) {
          check(
            f.host.index(logIndexId(r.name)) === undefined,
            `${r.name} is still installed after close`,
          );
        }
      },
    },
    {
      name: "storage relations (hosts that install them): upsert, null upper retracts, sourceDropped retracts all",
      run() {
        const f = new Fixture(typed, factory);
        if (f.host.index(logIndexId("ingestion_frontiers")) === undefined) return;
        f.log(
          10_500,
          { kind: "ingestionFrontier", sourceId: "s1", upper: 9n },
          {
            kind: "ingestionStatistics",
            sourceId: "s1",
            updates: 3,
            bytes: 30,
            messages: 2,
            snapshotCommitted: true,
          },
          { kind: "sourceStatus", sourceId: "s1", status: "running", error: null },
          { kind: "ingestionFrontier", sourceId: "s2", upper: 4n },
        );
        f.settle(11_000);
        f.expect("ingestion_frontiers", 11_000, [
          ["s1", w, 9n],
          ["s2", w, 4n],
        ]);
        f.expect("ingestion_statistics", 11_000, [["s1", w, 3n, 30n, 2n, true]]);
        f.expect("source_status", 11_000, [["s1", w, "running", null]]);
        f.log(
          11_500,
          { kind: "ingestionFrontier", sourceId: "s2", upper: null },
          { kind: "sourceDropped", sourceId: "s1" },
        );
        f.settle(12_000);
        for (const name of ["ingestion_frontiers", "ingestion_statistics", "source_status"]) {
          f.expect(name, 12_000, []);
        }
      },
    },
  ];
}
