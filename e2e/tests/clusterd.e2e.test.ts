/**
 * clusterd as a process: configuration errors, health and metrics, generation fencing and
 * newest-wins, protocol misuse (each case gets its Connect code and the replica stays healthy),
 * in-band semantic errors, benign races, reconciliation on reconnect, SIGTERM and the
 * no-controller exit. Runs on the unified path; the phase-1 suite covers both paths end to end.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Code } from "@connectrpc/connect";
import {
  type ComputeResponse,
  createHello,
  generateReplicaSecret,
  signHello,
} from "@mzts/protocol";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ClusterdHandle, startClusterd } from "../src/harness/clusterd.js";
import { computeDriver, storageDriver } from "../src/harness/driver.js";
import { liveCount, startNode, stopAll } from "../src/harness/processes.js";
import {
  ids,
  indexedDataflow,
  peekAll,
  runIngestion,
  START_MS,
  TICK_MS,
} from "../src/suites/scenario.js";

const CLUSTERD = fileURLToPath(new URL("../../packages/clusterd/dist/main.js", import.meta.url));
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mzts-e2e-clusterd-"));
});
afterEach(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});
afterAll(() => {
  expect(liveCount()).toBe(0);
});

async function metric(c: ClusterdHandle, name: string): Promise<number> {
  const text = await (await fetch(`${c.httpUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n"))
    if (line.startsWith(name)) sum += Number(line.split(" ").at(-1));
  return sum;
}

async function healthy(c: ClusterdHandle): Promise<boolean> {
  return (await fetch(`${c.httpUrl}/health`)).ok;
}

describe("clusterd configuration", () => {
  const cases: Array<[string[], RegExp]> = [
    [["--workers", "0"], /--workers/],
    [["--phases", "{not json"], /--phases: invalid PhaseSet/],
    [["--compute-listen", "nowhere"], /HOST:PORT/],
    [["--log-level", "loud"], /--log-level/],
    [["--no-secret"], /--controller-secret-file.*is required.*--insecure-no-auth/],
    [["--shared-secret"], /readable by group or others \(mode 0644\); run chmod 600/],
  ];
  // Each case is one clusterd start that must exit at once: all are started together (a node
  // start is mostly waiting on module loads) and have exited before the cases are judged.
  let configDir: string;
  const results = new Map<string, { code: number | null; stderr: string }>();
  beforeAll(async () => {
    configDir = mkdtempSync(join(tmpdir(), "mzts-e2e-clusterd-config-"));
    await Promise.all(
      cases.map(async ([args], i) => {
        const secretFile = join(configDir, `replica-secret-${i}`);
        writeFileSync(secretFile, `${"ab".repeat(32)}\n`, { mode: 0o600 });
        chmodSync(secretFile, args[0] === "--shared-secret" ? 0o644 : 0o600);
        const secretArgs =
          args[0] === "--no-secret" ? [] : ["--controller-secret-file", secretFile];
        const p = startNode(CLUSTERD, [
          "--cluster-id",
          "u1",
          "--replica-id",
          "u1",
          "--persist-dir",
          configDir,
          ...secretArgs,
          ...args.filter((a) => a !== "--no-secret" && a !== "--shared-secret"),
        ]);
        const { code } = await p.exited;
        results.set(JSON.stringify(args), { code, stderr: p.stderr() });
      }),
    );
  });
  afterAll(() => {
    rmSync(configDir, { recursive: true, force: true });
  });

  it.each(cases)("exits 2 with a clear message for %j", (args, message) => {
    const r = results.get(JSON.stringify(args));
    expect(r?.code, r?.stderr).toBe(2);
    expect(r?.stderr).toMatch(message);
  });
});

/**
 * An attacker on the host sends hellos with a higher generation and no or a wrong secret: each is
 * refused with Unauthenticated naming the replica, and the real controller (a driver holding the
 * secret) stays connected and answered, its generation not fenced.
 */
async function attackerIsRefused(c: ClusterdHandle): Promise<void> {
  const real = computeDriver(c.computeUrl, 5n, { secret: c.secret });
  real.send([{ kind: "initializationComplete" }]);
  await new Promise((r) => setTimeout(r, 100));
  // An attacker on the host with a higher generation: no proof, then a wrong secret.
  const unsigned = computeDriver(c.computeUrl, 99n, { secret: null });
  const e1 = await unsigned.done;
  expect(e1?.code).toBe(Code.Unauthenticated);
  expect(e1?.rawMessage).toMatch(
    /replica u1 \(cluster u1\) compute port refused an unauthenticated hello .*carries no auth proof/,
  );
  const wrong = computeDriver(c.computeUrl, 99n, { secret: generateReplicaSecret() });
  expect((await wrong.done)?.rawMessage).toMatch(/does not match this replica's secret/);
  const wrongStorage = storageDriver(c.storageUrl, 99n, { secret: generateReplicaSecret() });
  expect((await wrongStorage.done)?.code).toBe(Code.Unauthenticated);
  // The real controller was neither fenced nor superseded: it still gets answers.
  real.send([peekAll(START_MS)]);
  await real.until(
    (rs) => rs.some((r) => r.kind === "peekResponse"),
    "an answer on the real connection",
  );
  await real.close();
  // And its generation is still good for its next connection.
  const again = computeDriver(c.computeUrl, 5n, { secret: c.secret });
  again.send([{ kind: "initializationComplete" }, peekAll(START_MS)]);
  await again.until((rs) => rs.some((r) => r.kind === "peekResponse"), "an answer");
  await again.close();
}

describe("clusterd serving (unified path)", () => {
  let c: ClusterdHandle;
  beforeEach(async () => {
    c = await startClusterd({ persistDir: dir, flags: { servers: true }, workers: 2 });
  });

  it("serves health and metrics on HTTP/1.1 and announces the path", async () => {
    const h = (await (await fetch(`${c.httpUrl}/health`)).json()) as {
      status: string;
      path: string;
    };
    expect(h).toMatchObject({ status: "ok", path: "unified" });
    expect(await metric(c, 'mz_cluster_unification_phase_enabled{phase="servers"}')).toBe(1);
    expect((await fetch(`${c.httpUrl}/nope`)).status).toBe(404);
  });

  it("fences an older generation and lets the newest connection win", async () => {
    const a = computeDriver(c.computeUrl, 5n, { secret: c.secret });
    a.send([{ kind: "initializationComplete" }]);
    await a.until(() => true, "nothing");
    await new Promise((r) => setTimeout(r, 100));
    const old = computeDriver(c.computeUrl, 4n, { secret: c.secret });
    const fenced = await old.done;
    expect(fenced?.code).toBe(Code.Aborted);
    expect(fenced?.rawMessage).toMatch(/generation 4 .*generation 5/);
    const b = computeDriver(c.computeUrl, 5n, { secret: c.secret });
    const superseded = await a.done;
    expect(superseded?.code).toBe(Code.Aborted);
    expect(superseded?.rawMessage).toContain("replaced by a newer connection");
    b.send([{ kind: "initializationComplete" }, peekAll(START_MS)]);
    await b.until(
      (rs) => rs.some((r) => r.kind === "peekResponse"),
      "an answer on the newest connection",
    );
    await b.close();
    expect(await healthy(c)).toBe(true);
  });

  it("refuses hellos without the environment's secret; the real controller stays served", () =>
    attackerIsRefused(c));

  it("ends misusing streams with their codes and keeps serving", async () => {
    // First command not a hello.
    const noHello = computeDriver(c.computeUrl, 1n, {
      hello: null,
      createInstance: false,
      secret: c.secret,
    });
    noHello.send([{ kind: "initializationComplete" }]);
    const e1 = await noHello.done;
    expect(e1?.code).toBe(Code.InvalidArgument);
    expect(e1?.rawMessage).toContain("must be a hello");
    // A second hello on one stream.
    const twoHellos = computeDriver(c.computeUrl, 1n, { createInstance: false, secret: c.secret });
    twoHellos.send([{ kind: "hello", hello: createHello(1n) }]);
    expect((await twoHellos.done)?.code).toBe(Code.InvalidArgument);
    // Two InitializationCompletes.
    const twice = computeDriver(c.computeUrl, 1n, { secret: c.secret });
    twice.send([{ kind: "initializationComplete" }]);
    twice.send([{ kind: "initializationComplete" }]);
    const e = await twice.done;
    expect(e?.code).toBe(Code.FailedPrecondition);
    expect(e?.rawMessage).toContain("second InitializationComplete");
    // Another protocol version.
    const other = computeDriver(c.computeUrl, 1n, {
      hello: signHello({ ...createHello(1n), protocolVersion: 99 }, c.secret!, "compute"),
    });
    const e3 = await other.done;
    expect(e3?.code).toBe(Code.FailedPrecondition);
    expect(e3?.rawMessage).toMatch(/protocol version 99 .*protocol version 1/);
    // A payload that does not decode.
    const bad = computeDriver(c.computeUrl, 1n, { secret: c.secret });
    bad.send([{ kind: "schedule", id: "not-an-id" }]);
    expect((await bad.done)?.code).toBe(Code.InvalidArgument);
    expect(await healthy(c)).toBe(true);
    expect(await metric(c, "mz_cluster_stream_errors_total")).toBeGreaterThanOrEqual(5);
    // The replica still serves a well-behaved controller.
    const ok = computeDriver(c.computeUrl, 1n, { secret: c.secret });
    ok.send([{ kind: "initializationComplete" }, peekAll(START_MS)]);
    await ok.until((rs) => rs.some((r) => r.kind === "peekResponse"), "an answer after the misuse");
    await ok.close();
  });

  it("answers semantic errors in band and tolerates benign races", async () => {
    const d = computeDriver(c.computeUrl, 1n, { secret: c.secret });
    d.send([
      { kind: "initializationComplete" },
      peekAll(START_MS),
      { kind: "cancelPeek", uuid: "00000000-0000-4000-8000-0000000fffff" },
      { kind: "allowCompaction", id: "u999", frontier: 5n },
    ]);
    await d.until(
      (rs) =>
        rs.some((r) => r.kind === "commandError" && r.error.objectId === ids.index) &&
        rs.some((r) => r.kind === "peekResponse"),
      "a commandError naming the unknown index, and the peek's answer",
    );
    const answer = d.responses.find(
      (r): r is ComputeResponse & { kind: "peekResponse" } => r.kind === "peekResponse",
    );
    expect(answer?.response.kind).toBe("error");
    await new Promise((r) => setTimeout(r, 300));
    expect(await metric(c, "mz_compute_benign_races_total")).toBeGreaterThanOrEqual(1);
    await d.close();
    expect(await healthy(c)).toBe(true);
  });

  it("does not copy a huge debug name into its log (truncated)", async () => {
    const s = storageDriver(c.storageUrl, 1n, { secret: c.secret });
    s.send([runIngestion("t"), { kind: "initializationComplete" }, { kind: "allowWrites" }]);
    const huge = "x".repeat(2_000_000);
    const d = computeDriver(c.computeUrl, 1n, { secret: c.secret });
    d.send([
      { kind: "createDataflow", dataflow: { ...indexedDataflow("t"), debugName: huge } },
      { kind: "schedule", id: ids.index },
      { kind: "initializationComplete" },
    ]);
    const built = await c.process.waitForLine((l) => l.includes("compute: dataflow built"));
    expect(built).toContain("chars, truncated");
    expect(Math.max(...c.process.lines.map((l) => l.length))).toBeLessThan(4096);
    await d.close();
    await s.close();
  });

  it("reconciles on reconnect: the same dataflow is reused, not rebuilt", async () => {
    const s = storageDriver(c.storageUrl, 1n, { secret: c.secret });
    s.send([runIngestion("r"), { kind: "initializationComplete" }, { kind: "allowWrites" }]);
    const history = [
      { kind: "createDataflow", dataflow: indexedDataflow("r") },
      { kind: "schedule", id: ids.index },
      { kind: "initializationComplete" },
    ] as const;
    const a = computeDriver(c.computeUrl, 1n, { secret: c.secret });
    a.send([...history]);
    const p1 = peekAll(START_MS + 10n * TICK_MS);
    a.send([p1]);
    await a.until(
      (rs) => rs.some((r) => r.kind === "peekResponse" && r.uuid === p1.peek.uuid),
      "the first peek",
    );
    await a.close();
    // A new controller (next generation) replays the same history.
    const b = computeDriver(c.computeUrl, 2n, { secret: c.secret });
    b.send([...history]);
    const p2 = peekAll(START_MS + 10n * TICK_MS);
    b.send([p2]);
    await b.until(
      (rs) => rs.some((r) => r.kind === "peekResponse" && r.uuid === p2.peek.uuid),
      "the peek after reconnecting",
    );
    const first = a.responses.find((r) => r.kind === "peekResponse" && r.uuid === p1.peek.uuid);
    const second = b.responses.find((r) => r.kind === "peekResponse" && r.uuid === p2.peek.uuid);
    expect(second && second.kind === "peekResponse" && second.response).toEqual(
      first && first.kind === "peekResponse" && first.response,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(await metric(c, "mz_compute_reconciliation_reused_dataflows_count_total")).toBe(1);
    expect(await metric(c, "mz_compute_reconciliation_replaced_dataflows_count_total")).toBe(0);
    await b.close();
    await s.close();
  });

  it("shuts down cleanly on SIGTERM", async () => {
    const { code } = await c.stop();
    expect(code).toBe(0);
  });
});

describe("clusterd hardening (legacy path)", () => {
  let c: ClusterdHandle;
  beforeEach(async () => {
    c = await startClusterd({ persistDir: dir, flags: {}, workers: 1 });
  });

  it("refuses hellos without the environment's secret; the real controller stays served", () =>
    attackerIsRefused(c));

  it("ends a stream whose createInstance follows initializationComplete; keeps serving", async () => {
    const d = computeDriver(c.computeUrl, 1n, { secret: c.secret });
    d.send([{ kind: "initializationComplete" }]);
    d.send([
      {
        kind: "createInstance",
        config: {
          logging: { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
        },
      },
    ]);
    const e = await d.done;
    expect(e?.code).toBe(Code.FailedPrecondition);
    expect(e?.rawMessage).toContain("createInstance after initializationComplete");
    const ok = computeDriver(c.computeUrl, 1n, { secret: c.secret });
    ok.send([{ kind: "initializationComplete" }, peekAll(START_MS)]);
    await ok.until((rs) => rs.some((r) => r.kind === "peekResponse"), "an answer");
    await ok.close();
    expect(await healthy(c)).toBe(true);
  });
});

it("exits on its own when no controller connects for the configured time", async () => {
  const c = await startClusterd({ persistDir: dir, controllerAbsentTimeout: "1s" });
  const { code } = await c.process.exited;
  expect(code).toBe(0);
  expect(c.process.lines.some((l) => l.includes("no controller connected"))).toBe(true);
});
