/**
 * Phase-4 (client) benchmark: the controller's command path to one replica over two streams
 * (`cluster-unification-client` off: a compute and a storage `ReplicaTask`, two ports — the
 * baseline of every ratio) and over one (on: controller-unified's `ClusterStreams`, one
 * `ClusterService` port), beside a bare echo (two ports whose handlers answer themselves), all
 * measured in the same run, interleaved (echo, legacy, unified, …; medians).
 *
 * The controller side is the real connectors environmentd hands its instances (compute-client's
 * and storage-client's unified replica protocols, `createClusterStreams`); the replica side is a
 * separate process (`client-bench-server.ts`) running W-worker compute and storage runtimes that
 * answer peeks (empty rows) and drops (`droppedId`, merged over the workers).
 * - RTT: one command per message, the next sent when its answer arrived (p50 / p99 µs), for
 *   compute peeks and storage drops separately;
 * - throughput: 64 commands per message, up to 1024 in flight, for compute alone, storage alone,
 *   and both at once (compute and storage interleaved on the one stream, or on their two).
 *
 * Cleanup: the server process is killed (and exits when its stdin closes) on success or failure.
 * Progress goes to stderr, the table to stdout.
 *
 * Usage: tsx bench/client.bench.ts [--runs N] [--workers W] [--help]
 * env: BENCH_LAT_N (sequential commands, default 1000), BENCH_TPUT_N (pipelined, default 20000)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { computeReplicaProtocol } from "@mzts/compute-client";
import {
  createReplicaTaskConnector,
  type ReplicaConnection,
  type ReplicaConnector,
} from "@mzts/controller-unified";
import { createClusterStreams } from "@mzts/controller-unified/client";
import type {
  ComputeCommand,
  ComputeResponse,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import { createInstance } from "@mzts/protocol/testing/compute-commands";
import { Frontier } from "@mzts/repr";
import { storageReplicaProtocol } from "@mzts/storage-client";
import { pino } from "pino";

const HELP = `usage: tsx bench/client.bench.ts [--runs N] [--workers W] [--help]
  --runs N     interleaved runs per row, medians reported (default 3)
  --workers W  worker threads per runtime of the replica (default 2)
env: BENCH_LAT_N (sequential commands per workload, default 1000), BENCH_TPUT_N (pipelined, default 20000)`;

const args = process.argv.slice(2);
if (args.includes("--help")) {
  console.log(HELP);
  process.exit(0);
}
const argNum = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  const n = i >= 0 ? Number(args[i + 1]) : dflt;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a positive integer\n${HELP}`);
  return n;
};
const RUNS = argNum("--runs", 3);
const W = argNum("--workers", 2);
const LAT_N = Number(process.env.BENCH_LAT_N ?? 1000);
const TPUT_N = Number(process.env.BENCH_TPUT_N ?? 20000);
const SERVER = fileURLToPath(new URL("./client-bench-server.ts", import.meta.url));
const logger = pino({ level: "silent" });
const log = (msg: string) => process.stderr.write(`${msg}\n`);

type Ports = { cluster: number } | { compute: number; storage: number };

/** Spawns the replica side in `mode` (same node and loader flags as this process). */
async function startServer(mode: string): Promise<{ ports: Ports; child: ChildProcess }> {
  const child = spawn(process.execPath, [...process.execArgv, SERVER, mode, String(W)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const ports = await new Promise<Ports>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${mode} server did not start in 60 s`)), 60_000);
    child.once("exit", (c) => reject(new Error(`${mode} server exited with ${c}`)));
    let out = "";
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /PORTS (\{.*\})/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(JSON.parse(m[1] as string) as Ports);
      }
    });
  });
  return { ports, child };
}

/** One controller connection and a count of the answers it got. */
class Link<C, R> {
  readonly conn: ReplicaConnection<C, R>;
  answered = 0;
  #connected!: () => void;
  readonly connected = new Promise<void>((r) => {
    this.#connected = r;
  });
  #waiter: { n: number; resolve: () => void; reject: (e: Error) => void } | undefined;
  /** Set when the connection failed: every wait rejects with it. */
  #failed: Error | undefined;

  constructor(
    connector: ReplicaConnector<C, R>,
    url: string,
    replay: C[],
    isAnswer: (r: R) => boolean,
  ) {
    this.conn = connector({
      instanceId: "bench",
      replicaId: "r1",
      epoch: 1,
      generation: 1n,
      location: () => url,
      replay: () => replay,
      logger,
      onConnected: () => this.#connected(),
      onResponses: (_e, rs) => {
        for (const r of rs) if (isAnswer(r)) this.answered++;
        const w = this.#waiter;
        if (w !== undefined && this.answered >= w.n) {
          this.#waiter = undefined;
          w.resolve();
        }
      },
      onFailed: (_e, err) => {
        this.#failed = err;
        this.#waiter?.reject(err);
      },
    });
  }

  /** Resolves once `n` answers arrived in total. */
  until(n: number): Promise<void> {
    if (this.answered >= n) return Promise.resolve();
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      this.#waiter = { n, resolve, reject };
    });
  }
}

const peek = (): ComputeCommand => ({
  kind: "peek",
  peek: {
    uuid: randomUUID(),
    target: { kind: "index", id: "u2" },
    arity: 2,
    timestamp: 0n,
    literalConstraints: [[7n]],
    mapFilterProject: { exprs: [], predicates: [], projection: [0, 1] },
    finishing: { orderBy: [], offset: 0, project: [0, 1] },
  },
});
let dropSeq = 0;
const drop = (): StorageCommand => ({
  kind: "allowCompaction",
  id: `u${100 + dropSeq++}`,
  frontier: Frontier.EMPTY,
});

/** Sequential RTTs (µs) of `n` commands. */
async function rtt<C, R>(link: Link<C, R>, make: () => C, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    link.conn.send([make()]);
    await link.until(link.answered + 1);
    out.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return out.sort((a, b) => a - b);
}

/** Pipelines `n` commands, 64 per message, ≤ 1024 in flight; resolves when all are answered. */
async function pipeline<C, R>(link: Link<C, R>, make: () => C, n: number): Promise<void> {
  const base = link.answered;
  let sent = 0;
  while (sent < n) {
    await link.until(base + Math.max(0, sent - 1024 + 64));
    const batch: C[] = [];
    for (let i = 0; i < 64 && sent < n; i++, sent++) batch.push(make());
    link.conn.send(batch);
  }
  await link.until(base + n);
}

/** Commands per second of `runs` running at once (`total` commands between them). */
async function throughput(total: number, ...runs: Array<() => Promise<void>>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await Promise.all(runs.map((r) => r()));
  return total / (Number(process.hrtime.bigint() - t0) / 1e9);
}

interface Measure {
  computeP50: number;
  computeP99: number;
  storageP50: number;
  storageP99: number;
  computeTput: number;
  storageTput: number;
  bothTput: number;
}

/** One row: connects both instances' connections to the server of `mode`, then measures. */
async function measure(mode: "echo" | "two-port" | "one-port"): Promise<Measure> {
  const { ports, child } = await startServer(mode);
  const isPeek = (r: ComputeResponse) => r.kind === "peekResponse";
  const isDrop = (r: StorageResponse) => r.kind === "droppedId";
  const computeReplay: ComputeCommand[] = [createInstance, { kind: "initializationComplete" }];
  const storageReplay: StorageCommand[] = [{ kind: "initializationComplete" }];
  let compute: Link<ComputeCommand, ComputeResponse>;
  let storage: Link<StorageCommand, StorageResponse>;
  if ("cluster" in ports) {
    const streams = createClusterStreams();
    const url = `http://127.0.0.1:${ports.cluster}`;
    compute = new Link(streams.compute, url, computeReplay, isPeek);
    storage = new Link(streams.storage, url, storageReplay, isDrop);
  } else {
    compute = new Link(
      createReplicaTaskConnector(computeReplicaProtocol),
      `http://127.0.0.1:${ports.compute}`,
      computeReplay,
      isPeek,
    );
    storage = new Link(
      createReplicaTaskConnector(storageReplicaProtocol),
      `http://127.0.0.1:${ports.storage}`,
      storageReplay,
      isDrop,
    );
  }
  try {
    await Promise.all([compute.connected, storage.connected]);
    await Promise.all([compute.until(0), storage.until(0)]);
    await rtt(compute, peek, 200); // warm-up
    await rtt(storage, drop, 200);
    const c = await rtt(compute, peek, LAT_N);
    const s = await rtt(storage, drop, LAT_N);
    const q = (xs: number[], p: number) =>
      xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? Number.NaN;
    const computeTput = await throughput(TPUT_N, () => pipeline(compute, peek, TPUT_N));
    const storageTput = await throughput(TPUT_N, () => pipeline(storage, drop, TPUT_N));
    const half = Math.floor(TPUT_N / 2);
    const bothTput = await throughput(
      2 * half,
      () => pipeline(compute, peek, half),
      () => pipeline(storage, drop, half),
    );
    return {
      computeP50: q(c, 0.5),
      computeP99: q(c, 0.99),
      storageP50: q(s, 0.5),
      storageP99: q(s, 0.99),
      computeTput,
      storageTput,
      bothTput,
    };
  } finally {
    await Promise.all([compute.conn.close(), storage.conn.close()]);
    child.kill("SIGKILL");
  }
}

const ROWS = ["echo", "two-port", "one-port"] as const;
const LABELS: Record<(typeof ROWS)[number], string> = {
  echo: "bare echo, two streams (baseline)",
  "two-port": "legacy: two streams (client off)",
  "one-port": "unified: one stream (client on)",
};
const results: Record<string, Measure[]> = { echo: [], "two-port": [], "one-port": [] };
for (let run = 1; run <= RUNS; run++) {
  for (const mode of ROWS) {
    log(`run ${run}/${RUNS}: ${LABELS[mode]} …`);
    results[mode]?.push(await measure(mode));
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const row = (mode: string): Measure => {
  const rs = results[mode] ?? [];
  const m = (k: keyof Measure) => med(rs.map((r) => r[k]));
  return {
    computeP50: m("computeP50"),
    computeP99: m("computeP99"),
    storageP50: m("storageP50"),
    storageP99: m("storageP99"),
    computeTput: m("computeTput"),
    storageTput: m("storageTput"),
    bothTput: m("bothTput"),
  };
};
const echo = row("echo");
const legacy = row("two-port");
const x = (n: number) => `${n.toFixed(2)}x`;
console.log(
  `\nphase 4 client: W=${W}, ${LAT_N} sequential commands per workload, ${TPUT_N} pipelined (64/message, ≤ 1024 in flight); median of ${RUNS} interleaved runs`,
);
console.log(
  "| row | compute p50 / p99 µs | storage p50 / p99 µs | compute cmds/s | storage cmds/s | both cmds/s | p50 vs echo (c / s) | vs legacy: p50 (c / s) | vs legacy: tput (c / s / both) |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const mode of ROWS) {
  const r = row(mode);
  const vsLegacy =
    mode === "one-port"
      ? [
          `${x(r.computeP50 / legacy.computeP50)} / ${x(r.storageP50 / legacy.storageP50)}`,
          `${x(r.computeTput / legacy.computeTput)} / ${x(r.storageTput / legacy.storageTput)} / ${x(r.bothTput / legacy.bothTput)}`,
        ]
      : ["—", "—"];
  console.log(
    `| ${LABELS[mode]} | ${r.computeP50.toFixed(0)} / ${r.computeP99.toFixed(0)} | ${r.storageP50.toFixed(0)} / ${r.storageP99.toFixed(0)} | ${r.computeTput.toFixed(0)} | ${r.storageTput.toFixed(0)} | ${r.bothTput.toFixed(0)} | ${x(r.computeP50 / echo.computeP50)} / ${x(r.storageP50 / echo.storageP50)} | ${vsLegacy[0]} | ${vsLegacy[1]} |`,
  );
}
