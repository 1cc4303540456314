/**
 * The demo's live status, per online replica of a cluster with logging on: hydration and
 * arrangement sizes read from that replica's own introspection relations (hydrated = every
 * worker has a time), and a readable note when its introspection cannot be read; every replica's
 * hydration (the offline one's too) from the persisted `replica_hydration_times`.
 */
import type { PeekRequest } from "@mzts/protocol";
import { describe, expect, it } from "vitest";
import { renderStatus } from "./demo.js";
import type { Environment } from "./environment.js";

function fakeEnv(peek: (req: PeekRequest) => unknown): Environment {
  const replica = (name: string, health: string) => ({
    id: name === "r1" ? "u2" : "u3",
    name,
    size: 1,
    health,
    reason: "",
  });
  return {
    generation: 1n,
    status: async () => ({
      clusters: [
        {
          id: "u1",
          name: "demo",
          replicas: [replica("r1", "online"), replica("r2", "offline")],
          collections: [],
          flags: [],
          introspectionIntervalMs: 1000,
        },
      ],
    }),
    peek: async (req: PeekRequest) => peek(req),
  } as unknown as Environment;
}

describe("demo status", () => {
  it("shows each online replica's hydration and arrangement sizes from its own log", async () => {
    const asked: PeekRequest[] = [];
    const env = fakeEnv((req) => {
      asked.push(req);
      if (req.object === "mz_introspection.hydration_times") {
        return {
          rows: [
            [["u5", 0n, 10n], 1],
            [["u5", 1n, 12n], 1],
            [["u7", 0n, 11n], 1],
            [["u7", 1n, null], 1],
          ],
        };
      }
      if (req.object === "mz_introspection.replica_hydration_times") {
        return {
          rows: [
            [["u2", "u5", 0n, 10n], 1],
            [["u2", "u7", 0n, 11n], 1],
            [["u9", "u7", 0n, 11n], 1], // another cluster's replica
          ],
        };
      }
      if (req.object === "mz_introspection.arrangement_sizes") {
        return {
          rows: [
            [["u5", 0n, 20n, 2n, 1048576n], 1],
            [["u5", 1n, 10n, 1n, 524288n], 2],
          ],
        };
      }
      throw new Error("not hydrated yet; retry");
    });
    const screen = await renderStatus(env);
    expect(screen).toContain("\n  r1: hydrated 1/2 exports, arrangements 40 records, 2.0 MiB\n");
    expect(screen).not.toContain("r2:");
    expect(screen).toContain(
      "\n  hydration kept by environmentd: r1 2/2, r2 none (down or rebuilding)\n",
    );
    expect(asked.filter((r) => r.object.startsWith("mz_introspection."))).toEqual([
      expect.objectContaining({ cluster: "demo", replica: "r1" }),
      expect.objectContaining({ cluster: "demo", replica: "r1" }),
      expect.objectContaining({
        cluster: "demo",
        object: "mz_introspection.replica_hydration_times",
      }),
    ]);
  });

  it("says when a replica's introspection cannot be read", async () => {
    const env = fakeEnv(() => {
      throw new Error("peek failed: target s1010 is not an index; fix it");
    });
    expect(await renderStatus(env)).toContain(
      "  r1: introspection not readable (peek failed: target s1010 is not an index)",
    );
  });
});
