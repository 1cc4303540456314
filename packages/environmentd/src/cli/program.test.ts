/**
 * mzctl's `--help`: every command and subcommand prints its usage and exits 0 (a bigint option
 * default once made `sources create --help` crash with "Do not know how to serialize a BigInt").
 * `mzctl status` text shows a cluster's live flip, and its collections table is the same whatever
 * the wire shape of Status (a columnar table since issue 16).
 */

import { environmentCodecs, MalformedApiResponse } from "@mzts/protocol";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { createProgram, renderStatus, runCli } from "./program.js";
import { bufferIo } from "./render.js";

const capture = () => bufferIo();

/** Every command path of the program, e.g. `["sources", "create"]`. */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => {
    const path = [...prefix, c.name()];
    return [path, ...commandPaths(c, path)];
  });
}

describe("mzctl --help", () => {
  const paths = commandPaths(createProgram(capture()));

  it("knows the commands it is checked on", () => {
    expect(paths).toContainEqual(["sources", "create"]);
    expect(paths.length).toBeGreaterThan(10);
  });

  it.each([[[]], ...paths.map((p) => [p])])("%j --help exits 0 with its usage", async (path) => {
    const io = capture();
    const code = await runCli(["node", "mzctl", ...path, "--help"], io);
    expect({ code, err: io.err }).toEqual({ code: 0, err: "" });
    expect(io.out).toContain("Usage: mzctl");
  });

  it("shows the --seed default in sources create --help", async () => {
    const io = capture();
    expect(await runCli(["node", "mzctl", "sources", "create", "--help"], io)).toBe(0);
    expect(io.out).toMatch(/--seed <n>\s+generator seed \(default: 1\)/);
  });
});

describe("mzctl status", () => {
  it("shows the collections: frontiers, since, lag (blank when none), empty frontiers, failures", () => {
    const text = renderStatus(
      environmentCodecs.statusResponse.toProto({
        clusters: [
          {
            id: "u1",
            name: "c",
            replicas: [{ id: "u2", name: "r1", size: 1, health: "online", reason: "" }],
            collections: [
              {
                id: "u5",
                name: "a_idx",
                writeFrontier: 1_765_000_000_001n,
                since: 1_765_000_000_000n,
                lagMs: 3,
              },
              { id: "u6", name: "b_done", writeFrontier: null, since: 7n },
              { id: "u7", name: "c_dropped", writeFrontier: 3n, since: null, lagMs: 12 },
              {
                id: "u8",
                name: "d_failed",
                writeFrontier: 0n,
                since: 0n,
                failed: "quarantined: boom",
              },
            ],
            flags: [],
            introspectionIntervalMs: 1000,
          },
        ],
      }),
    );
    expect(text).toBe(
      [
        "cluster c (u1, introspection every 1000 ms)",
        "  REPLICA  ID  SIZE  HEALTH  REASON",
        "  r1       u2  1     online",
        "  COLLECTION  ID  WRITE_FRONTIER   SINCE            LAG_MS",
        "  a_idx       u5  [1765000000001]  [1765000000000]  3",
        "  b_done      u6  []               [7]",
        "  c_dropped   u7  [3]              []               12",
        "  d_failed    u8  [0]              [0]",
        "  FAILED d_failed: quarantined: boom",
        "  flags on: none",
        "",
      ].join("\n"),
    );
  });

  it("reports a malformed collection table as MalformedApiResponse (runCli prints it, exit 1)", () => {
    const msg = environmentCodecs.statusResponse.toProto({
      clusters: [
        {
          id: "u1",
          name: "c",
          replicas: [],
          collections: [{ id: "u5", name: "a_idx", writeFrontier: 2n, since: 1n, lagMs: 3 }],
          flags: [],
          introspectionIntervalMs: 1000,
        },
      ],
    });
    msg.clusters[0]!.collections!.sinces = [];
    expect(() => renderStatus(msg)).toThrow(MalformedApiResponse);
    expect(() => renderStatus(msg)).toThrow(
      "malformed status response at clusters[0].collections.sinces: has 0 sinces for 1 ids",
    );
  });

  it("shows a cluster's failed flip with its step, time and error, and flipping flags", () => {
    const text = renderStatus(
      environmentCodecs.statusResponse.toProto({
        clusters: [
          {
            id: "u1",
            name: "c",
            replicas: [],
            collections: [],
            flags: [
              {
                key: "cluster-unification-servers",
                enabled: true,
                inForce: true,
                blockedBy: [],
                applied: false,
                flipping: true,
              },
            ],
            introspectionIntervalMs: 1000,
            flip: {
              state: "failed",
              step: "awaiting hydration of r1_pending (u9)",
              replica: "r1",
              stepSinceMs: 0,
              startedMs: 0,
              target: "servers",
              error: "replica r1_pending (u9) did not hydrate within 1 ms",
            },
          },
        ],
      }),
    );
    expect(text).toContain("cluster-unification-servers (flipping)");
    expect(text).toContain(
      "flip failed to [servers]: awaiting hydration of r1_pending (u9) (since 1970-01-01T00:00:00.000Z): replica r1_pending (u9) did not hydrate within 1 ms",
    );
  });

  it("shows a migrating phase: stage, slots, comparisons, latency, and the second-replica note", () => {
    const base = {
      id: "u1",
      name: "c",
      replicas: [],
      collections: [],
      flags: [],
      introspectionIntervalMs: 1000,
    };
    const migration = {
      flag: "cluster-unification-servers",
      stage: "shadow",
      authoritative: "legacy" as const,
      compares: true,
      slots: [
        { replica: "r1", slot: "legacy" as const },
        { replica: "r2", slot: "unified" as const },
      ],
      consistent: 40,
      inconsistent: 1,
      timeout: 0,
      fallback: 0,
      lastInconsistency: "1 row(s) differ; first: (99) occurs 1 more time(s) in the other answer",
      paths: [
        { path: "legacy" as const, answers: 41, p50Ms: 1.5, p99Ms: 4, errors: 0 },
        { path: "unified" as const, answers: 41, p50Ms: 1.25, p99Ms: 3, errors: 0 },
      ],
    };
    const text = renderStatus(
      environmentCodecs.statusResponse.toProto({
        clusters: [{ ...base, migrations: [migration] }],
      }),
    );
    expect(text).toContain(
      "migration cluster-unification-servers shadow: legacy answers, the other is compared; slots r1 legacy, r2 unified",
    );
    expect(text).toContain("comparisons: 40 consistent, 1 inconsistent, 0 timeout, 0 fallback");
    expect(text).toMatch(/PATH\s+ANSWERS\s+P50_MS\s+P99_MS\s+ERRORS\n\s+legacy\s+41\s+1.5\s+4\s+0/);
    expect(text).toContain("last inconsistency: 1 row(s) differ");
    const one = renderStatus(
      environmentCodecs.statusResponse.toProto({
        clusters: [
          {
            ...base,
            migrations: [
              {
                ...migration,
                slots: [{ replica: "r1", slot: "legacy" as const }],
                consistent: 0,
                inconsistent: 0,
                paths: [],
                note: "needs a second replica to compare: only the legacy path runs; add one (it takes the unified slot)",
              },
            ],
          },
        ],
      }),
    );
    expect(one).toContain("note: needs a second replica to compare");
    const state = renderStatus(
      environmentCodecs.statusResponse.toProto({
        clusters: [
          {
            ...base,
            migrations: [
              {
                ...migration,
                flag: "cluster-unification-state",
                slots: [{ replica: "r1" }, { replica: "r2" }],
              },
            ],
          },
        ],
      }),
    );
    expect(state).toContain("slots r1 (both), r2 (both)");
  });
});
