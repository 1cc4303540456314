/**
 * What a (re)starting replica loads for compute (issue 16, rehydration): the worker entries load
 * neither the serving side of mz-cluster (Connect, HTTP/2) nor the protocol's codecs — each worker thread loads its own
 * modules before the replica serves — and the main thread's entries (`/runtime`, which spawns the
 * workers, and `/merge`) load neither persist nor rendering. Reads the built `dist`.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadedModules } from "@mzts/mz-cluster/testing";
import { describe, expect, it } from "vitest";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const connect = (u: string) => u.includes("@connectrpc");

describe("compute startup imports", () => {
  it("the worker entries do not load Connect", () => {
    for (const entry of ["./dist/legacy/legacy-worker-main.js", "./dist/compute-worker.js"]) {
      const loaded = loadedModules(pkg, [entry]);
      expect(loaded.some((u) => u.includes("/compute/dist/compute-state.js"))).toBe(true);
      expect(loaded.filter(connect)).toEqual([]);
      // Nor the protocol's codecs (the root builds the protobuf registry, ~130 modules): the
      // logging code takes the introspection relations from `@mzts/protocol/domain`.
      expect(loaded.filter((u) => /@bufbuild|\/protocol\/dist\/gen\//.test(u))).toEqual([]);
    }
  }, 120_000);

  it("the runtime entry spawns workers without loading their modules", () => {
    const loaded = loadedModules(pkg, ["@mzts/compute/runtime"]);
    expect(loaded.some((u) => u.endsWith("/legacy/legacy-runtime.js"))).toBe(true);
    expect(
      loaded.filter((u) => /\/(persist|dataflow|protocol)\/dist\/|@connectrpc|@bufbuild/.test(u)),
    ).toEqual([]);
  }, 90_000);

  it("the merge entry does not load persist or the worker's state", () => {
    const loaded = loadedModules(pkg, ["@mzts/compute/merge"]);
    expect(loaded.some((u) => u.endsWith("/compute/dist/merge.js"))).toBe(true);
    expect(loaded.filter((u) => /\/persist\/dist\/|compute-state\.js|connect/.test(u))).toEqual([]);
  }, 90_000);
});
