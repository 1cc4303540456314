/**
 * mzctl end to end: a real environmentd (built `dist/main.js`, loopback, free ports) and the
 * built `dist/cli.js` run as child processes. Every environmentd is stopped and every clusterd
 * replica it started is killed after each test.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LOG_RELATIONS } from "@mzts/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PERSISTED_RELATIONS } from "../src/introspection/persisted-relations.js";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

let dir: string;
let env: ChildProcess | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mzctl-"));
});

afterEach(async () => {
  if (env !== undefined && env.exitCode === null) {
    const exited = new Promise((r) => env?.once("exit", r));
    env.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (env.exitCode === null) env.kill("SIGKILL");
  }
  env = undefined;
  try {
    const records = JSON.parse(
      readFileSync(join(dir, "orchestrator", "replicas.json"), "utf8"),
    ) as {
      replicas: Array<{ pid: number }>;
    };
    for (const r of records.replicas) {
      try {
        process.kill(r.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  } catch {
    // no records: no replica was started
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Start environmentd and resolve its gRPC URL from the "API gRPC http://…" stdout line. */
function startEnvironmentd(): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      "--data-dir",
      dir,
      "--grpc-port",
      "0",
      "--http-port",
      "0",
      "--controller-absent-timeout",
      "10",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  env = child;
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr?.on("data", (b: Buffer) => {
      err += b.toString();
    });
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /API gRPC (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1] !== undefined) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`environmentd exited ${code}: ${out}${err}`)));
  });
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function mzctl(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe("mzctl", () => {
  it("drives a cluster, replica, counter source and index, and reads them back", async () => {
    const url = await startEnvironmentd();
    const at = (...args: string[]) => mzctl("--url", url, ...args);

    expect(await at("clusters", "create", "c1")).toMatchObject({
      code: 0,
      stdout: "created cluster c1 (u1)\n",
    });
    const replica = await at("replicas", "create", "c1", "r1", "--size", "1");
    expect(replica.code, replica.stderr).toBe(0);
    expect(replica.stdout).toMatch(/^created replica c1\.r1 \(u\d+, size 1\), online\n$/);
    // Not a TTY: at most one plain "waiting…" line, no spinner escapes.
    expect(replica.stderr).not.toContain("\x1b");

    const source = await at(
      "sources",
      "create",
      "cnt",
      "--cluster",
      "c1",
      "--counter",
      "--tick-ms",
      "100",
    );
    expect(source.code, source.stderr).toBe(0);
    expect(source.stdout).toContain("cnt_counter");
    const index = await at(
      "indexes",
      "create",
      "cnt_idx",
      "--cluster",
      "c1",
      "--on",
      "cnt_counter",
      "--key",
      "0",
    );
    expect(index.code, index.stderr).toBe(0);

    // The counter emits 1, 2, 3, … : a peek sees a prefix of them, each once.
    const peek = await at("peek", "cnt_counter", "--timeout-ms", "10000");
    expect(peek.code, peek.stderr).toBe(0);
    const lines = peek.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("#0");
    const footer = /^\((\d+) rows? at (\d+) from replica r1\)$/.exec(lines.at(-1) ?? "");
    expect(footer).not.toBeNull();
    const values = lines.slice(1, -1).map((l) => Number(l.trim()));
    expect(values.length).toBe(Number(footer?.[1]));
    expect([...values].sort((a, b) => a - b)).toEqual(values.map((_, i) => i + 1));

    const json = await at("--json", "peek", "cnt_counter");
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout) as {
      rows: Array<{ row: { datums: Array<{ int64Value: string }> }; count: string }>;
      timestamp: string;
    };
    expect(BigInt(doc.timestamp)).toBeGreaterThanOrEqual(BigInt(footer?.[2] ?? "0"));
    expect(doc.rows.map((r) => r.row.datums[0]?.int64Value)).toContain("1");

    const status = await at("--json", "status", "--cluster", "c1");
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as {
      clusters: Array<{
        name: string;
        replicas: Array<{ name: string; size: number; health: string }>;
      }>;
    };
    expect(s.clusters[0]?.name).toBe("c1");
    expect(s.clusters[0]?.replicas).toEqual([
      expect.objectContaining({ name: "r1", size: 1, health: "REPLICA_HEALTH_ONLINE" }),
    ]);

    const objects = await at("objects", "list");
    expect(objects.code, objects.stderr).toBe(0);
    const objectLines = objects.stdout.trimEnd().split("\n");
    expect(objectLines.pop()).toBe(
      `(and ${LOG_RELATIONS.length + PERSISTED_RELATIONS.length} mz_introspection relations: \`mzctl introspection\`)`,
    );
    const rows = objectLines.map((l) => l.split(/\s+/));
    expect(rows[0]).toEqual(["NAME", "ID", "KIND", "CLUSTER", "ARITY", "ON", "KEY"]);
    expect(rows.slice(1).map((r) => [r[0], r[2]])).toEqual([
      ["cnt", "source"],
      ["cnt_counter", "subsource"],
      ["cnt_idx", "index"],
    ]);

    const listJson = await at("--json", "clusters", "list");
    expect(JSON.parse(listJson.stdout)).toMatchObject({
      clusters: [
        { name: "c1", replicas: [{ name: "r1", size: 1 }], introspectionIntervalMs: 1000 },
      ],
    });

    const missing = await at("peek", "nope");
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toMatch(/^error: not_found: .*nope/);

    const dropBlocked = await at("clusters", "drop", "c1");
    expect(dropBlocked.code).toBe(1);
    expect(dropBlocked.stderr).toMatch(/^error: failed_precondition: /);
    expect(await at("objects", "drop", "cnt", "--cascade")).toMatchObject({ code: 0 });
    expect(await at("replicas", "drop", "c1", "r1")).toMatchObject({ code: 0 });
    expect(await at("clusters", "drop", "c1")).toMatchObject({ code: 0 });
    expect((await at("clusters", "list")).stdout).toBe("CLUSTER  ID  INTROSPECTION_MS  REPLICAS\n");
    // Sixteen mzctl processes, each a Node start and import (about 1 s alone, 2–3 s while CI runs
    // two suites side by side), plus environmentd and clusterd starts: 40 s was seen to run out.
  }, 120_000);

  it("exits 2 on usage errors without contacting a server", async () => {
    const bad = await mzctl("--url", "http://127.0.0.1:1", "peek", "x", "--bogus");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown option '--bogus'");
    const noGenerator = await mzctl(
      "--url",
      "http://127.0.0.1:1",
      "sources",
      "create",
      "s",
      "--cluster",
      "c",
    );
    expect(noGenerator.code).toBe(2);
    expect(noGenerator.stderr).toContain("--counter or --auction");
    const badSize = await mzctl("replicas", "create", "c", "r", "--size", "0");
    expect(badSize.code).toBe(2);
    const wrongBound = await mzctl(
      ...["--url", "http://127.0.0.1:1", "sources", "create", "s", "--cluster", "c"],
      ...["--counter", "--max-auctions", "300"],
    );
    expect(wrongBound.code).toBe(2);
    expect(wrongBound.stderr).toContain("--max-auctions applies to --auction only");
  });

  it("says how to start environmentd when nothing listens", async () => {
    const refused = await mzctl("--url", "http://127.0.0.1:1", "clusters", "list");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("cannot reach environmentd at http://127.0.0.1:1");
    expect(refused.stderr).toContain("bash scripts/demo.sh");
  });
});
