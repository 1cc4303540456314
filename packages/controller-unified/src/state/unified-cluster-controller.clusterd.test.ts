/**
 * The unified driver against a real clusterd process (two-port layout; loopback, port 0, a temp
 * persist dir, the replica secret in a 0600 file; everything stopped after the test, even on
 * failure), through compute-client's and storage-client's real unified replica tasks
 * (`connectUnified*Replica`, loaded from their built `dist` by path: test-only, like
 * `testdata/legacy-cluster.ts`). A deterministic counter is ingested, an index is built over
 * it, the index is peeked, the since handle is downgraded by the tick, everything is dropped and
 * forgotten. Then a crash: the replica is SIGKILLed, its incarnation fails, it restarts on other
 * ports over the same persist dir, `updateReplicaLocation` points the next incarnation there, and
 * the replayed index answers again. The since-handle I/O is the in-memory fake (the replica's
 * persist is its own).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { formatReplicaSecret, generateReplicaSecret } from "@mzts/protocol";
import { deterministicCounter } from "@mzts/protocol/testing/storage-commands";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { connectUnifiedComputeReplica } from "../../../compute-client/dist/index.js";
import { BUILT_PHASES, PhaseSet } from "../../../flags/dist/index.js";
import { connectUnifiedStorageReplica } from "../../../storage-client/dist/index.js";
import { createClusterStreams } from "../client/cluster-streams.js";
import { until } from "../testdata/until.js";
import type { ClusterConnectors } from "./replica-incarnation.js";
import { fakeSinceHandles } from "./testdata/fake-since-handles.js";
import { LOGGING } from "./testdata/legacy-cluster.js";
import { indexedView, subscribeOf } from "./testdata/objects.js";
import { UnifiedClusterController } from "./unified-cluster-controller.js";

const MAIN = new URL("../../../clusterd/dist/main.js", import.meta.url);

const cleanup: Array<() => Promise<void>> = [];
/** The clusterds' log lines of the running test (stdout JSON and stderr), printed if it fails. */
let logs: string[] = [];
afterEach(async (ctx) => {
  if (ctx.task.result?.state === "fail") {
    console.log(
      `clusterd logs of the failed test (last 200 lines):\n${logs.slice(-200).join("\n")}`,
    );
  }
  logs = [];
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

/** Starts a two-port clusterd; resolves with its ports and secret. Stopped after the test. */
interface Clusterd {
  readonly ports: Record<string, unknown>;
  readonly secret: Uint8Array;
  readonly dir: string;
  /** SIGKILLs the process (a crash); resolves once it exited. */
  kill(): Promise<void>;
}

/**
 * Starts a clusterd (in `reuse`'s persist dir with its secret: a restarted replica); two ports,
 * or one (`--cluster-listen`, the `client` phase on); resolves with its ports. Stopped, and its
 * dir removed, after the test.
 */
async function startClusterd(
  reuse?: Clusterd,
  layout: "two-port" | "one-port" = "two-port",
): Promise<Clusterd> {
  const dir = reuse?.dir ?? mkdtempSync(join(tmpdir(), "mzts-driver-clusterd-"));
  const secret = reuse?.secret ?? generateReplicaSecret();
  const secretFile = join(dir, "replica-secret");
  if (reuse === undefined) writeFileSync(secretFile, formatReplicaSecret(secret), { mode: 0o600 });
  const phases =
    layout === "two-port"
      ? PhaseSet.of("u1", { servers: true, replicas: true })
      : PhaseSet.of("u1", { servers: true, replicas: true, client: true }, [
          ...BUILT_PHASES,
          "client",
        ]);
  const listen =
    layout === "two-port"
      ? ["--compute-listen", "127.0.0.1:0", "--storage-listen", "127.0.0.1:0"]
      : ["--cluster-listen", "127.0.0.1:0"];
  const child: ChildProcess = spawn(
    process.execPath,
    [
      MAIN.pathname,
      ...["--cluster-id", "u1", "--replica-id", "u1", "--workers", "1"],
      ...["--persist-dir", join(dir, "persist"), "--controller-secret-file", secretFile],
      ...["--phases", JSON.stringify(phases), "--http-listen", "127.0.0.1:0"],
      ...listen,
      ...["--controller-absent-timeout", "60s", "--log-level", "info"],
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  cleanup.push(async () => {
    if (running()) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
    logs.push(`stderr: ${d.toString().trimEnd()}`);
  });
  const ports = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no ready line within 20 s")), 20_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      logs.push(line);
      const j = JSON.parse(line) as Record<string, unknown>;
      if (j.msg === "clusterd ready") {
        clearTimeout(timer);
        resolve(j);
      }
    });
    void exited.then(() => reject(new Error(`clusterd exited before ready: ${stderr}`)));
  });
  const kill = async () => {
    if (running()) child.kill("SIGKILL");
    await exited;
  };
  return { ports, secret, dir, kill };
}

/**
 * SIGKILLs `first`, waits for the incarnation's failure, restarts the replica over the same
 * persist dir and secret on new ports, points the driver there and waits for the next incarnation.
 */
async function crashAndRestart(
  c: UnifiedClusterController,
  first: Clusterd,
  layout: "two-port" | "one-port",
): Promise<void> {
  await first.kill();
  await until("the incarnation's failure", () => c.replicas()[0]?.failures === 1, 20_000);
  const second = await startClusterd(first, layout);
  c.updateReplicaLocation("u1", layout === "two-port" ? twoPortOf(second) : onePortOf(second));
  const next = () => {
    const r = c.replicas()[0];
    return r !== undefined && r.epoch >= 2 && r.state === "connected";
  };
  await until("the next incarnation", next, 20_000);
}

const onePortOf = (d: Clusterd) =>
  ({ layout: "one-port", clusterUrl: `http://127.0.0.1:${String(d.ports.clusterPort)}` }) as const;

const twoPortOf = (d: Clusterd) =>
  ({
    layout: "two-port",
    computeUrl: `http://127.0.0.1:${String(d.ports.computePort)}`,
    storageUrl: `http://127.0.0.1:${String(d.ports.storagePort)}`,
  }) as const;

function driver(
  secret: Uint8Array,
  io = fakeSinceHandles(),
  connectors: ClusterConnectors = {
    compute: connectUnifiedComputeReplica,
    storage: connectUnifiedStorageReplica,
  } as unknown as ClusterConnectors,
): UnifiedClusterController {
  const c = new UnifiedClusterController({
    clusterId: "u1",
    generation: 1n,
    logging: LOGGING,
    connectors,
    sinceHandles: io,
    replicaSecret: secret,
    logger: pino({ level: "silent" }),
    tickIntervalMs: 50,
  });
  cleanup.push(() => c.close());
  return c;
}

/** A deterministic counter: 5 ticks, then its upper closes. */
const counter = deterministicCounter();

describe("UnifiedClusterController against a real clusterd (two ports)", () => {
  it("ingests, builds an index, answers a peek, downgrades the since handle, drops", async () => {
    const replica = await startClusterd();
    const io = fakeSinceHandles();
    const c = driver(replica.secret, io);
    c.addReplica("u1", twoPortOf(replica));
    expect(await c.openShards([{ id: "u11", shardId: "shard-u11" }])).toEqual(
      new Map([["u11", 0n]]),
    );
    c.createIngestion("u10", counter);
    c.createDataflow(indexedView("u20", 0n, ["u11"]));
    await c.waitForUpper("u11", null, { timeoutMs: 30_000 });
    await c.waitForUpper("u20", null, { timeoutMs: 30_000 });
    expect(c.replicas()).toMatchObject([{ replicaId: "u1", epoch: 1, state: "connected" }]);

    // The counter's last tick is well before this time; the index's write frontier is closed.
    const at = 1_000_000n + 10_000n;
    expect(c.frontiers("u20")).toMatchObject({ write: null, reported: true });
    const answer = await c.peek({ target: "u20", timestamp: at, timeoutMs: 20_000 });
    expect(answer.replicaId).toBe("u1");
    expect(answer.rows.length).toBeGreaterThan(0);

    // Compacting the index and its source: the tick downgrades the source's since handle.
    c.allowCompaction("u20", at);
    c.allowCompaction("u11", at);
    expect(c.frontiers("u11").since).toBe(at);
    const deadline = Date.now() + 10_000;
    while (c.state.durableSince("u11") !== at && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(io.sinces.get("shard-u11")).toBe(at);

    c.drop("u20");
    c.drop("u10");
    const gone = Date.now() + 10_000;
    while (c.status().collections > 0 && Date.now() < gone)
      await new Promise((r) => setTimeout(r, 20));
    expect(c.status().collections).toBe(0);
    await c.maintain();
    expect(io.sinces.get("shard-u11")).toBe("expired");
    await c.close();
    expect(c.replicas()).toMatchObject([{ replicaId: "u1", epoch: 1 }]);
  }, 60_000);

  it("a crashed replica fails its incarnation; restarted elsewhere, the next one replays and answers", async () => {
    const first = await startClusterd();
    const c = driver(first.secret);
    c.addReplica("u1", twoPortOf(first));
    await c.openShards([{ id: "u11", shardId: "shard-u11" }]);
    c.createIngestion("u10", counter);
    c.createDataflow(indexedView("u20", 0n, ["u11"]));
    await c.waitForUpper("u20", null, { timeoutMs: 30_000 });

    await crashAndRestart(c, first, "two-port");
    const answer = await c.peek({ target: "u20", timestamp: 1_010_000n, timeoutMs: 20_000 });
    expect(answer.replicaId).toBe("u1");
    expect(answer.rows.length).toBeGreaterThan(0);
  }, 60_000);
});

describe("UnifiedClusterController against a real clusterd (one port, --cluster-listen)", () => {
  it("both sub-protocols on one ClusterService stream: ingests, indexes, peeks, subscribes to the end, recovers", async () => {
    const first = await startClusterd(undefined, "one-port");
    expect(first.ports).toHaveProperty("clusterPort");
    const streams = createClusterStreams();
    const c = driver(first.secret, fakeSinceHandles(), { cluster: streams.cluster });
    c.addReplica("u1", onePortOf(first));
    await c.openShards([{ id: "u11", shardId: "shard-u11" }]);
    c.createIngestion("u10", counter);
    c.createDataflow(indexedView("u20", 0n, ["u11"]));
    await c.waitForUpper("u20", null, { timeoutMs: 30_000 });
    expect(streams.streamsStarted).toBe(1);
    const answer = await c.peek({ target: "u20", timestamp: 1_010_000n, timeoutMs: 20_000 });
    expect(answer.rows.length).toBeGreaterThan(0);

    // A subscribe over the counter: every update once, up to its closed upper.
    const seen = new Map<string, number>();
    let last: bigint | null = 0n;
    for await (const b of c.subscribe(subscribeOf("u30", 0n, ["u11"]))) {
      expect(b.lower).toBe(last);
      last = b.upper;
      for (const [row, , diff] of b.updates) {
        const k = JSON.stringify(row, (_, v) => (typeof v === "bigint" ? v.toString() : v));
        seen.set(k, (seen.get(k) ?? 0) + diff);
      }
    }
    expect(last).toBe(null);
    const rows = answer.rows.map(([row, n]) => [
      JSON.stringify(row, (_, v) => (typeof v === "bigint" ? v.toString() : v)),
      n,
    ]);
    expect(new Map(rows as [string, number][])).toEqual(seen);

    // A crash: one new stream for the next incarnation, the index answers again.
    await crashAndRestart(c, first, "one-port");
    const again = await c.peek({ target: "u20", timestamp: 1_010_000n, timeoutMs: 20_000 });
    expect(again.rows).toEqual(answer.rows);
  }, 90_000);
});
