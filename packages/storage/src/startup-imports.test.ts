/**
 * What a (re)starting replica loads for storage (issue 16, rehydration): the worker entries load
 * neither the protobuf codecs nor Connect (commands reach workers as structured clones; each
 * worker thread loads its own modules before the replica serves), and the runtime entries, which
 * spawn the workers, do not load persist (opened on the first ingestion's resume read). Reads
 * the built `dist`.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadedModules } from "@mzts/mz-cluster/testing";
import { describe, expect, it } from "vitest";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const heavy = (u: string) => /@connectrpc|@bufbuild/.test(u);

describe("storage startup imports", () => {
  it("the worker entries load neither protobuf nor Connect", () => {
    for (const entry of ["./dist/legacy/legacy-worker.js", "./dist/storage-worker.js"]) {
      const loaded = loadedModules(pkg, [entry]);
      expect(loaded.some((u) => u.includes("/storage/dist/storage-state.js"))).toBe(true);
      expect(loaded.filter(heavy)).toEqual([]);
    }
  }, 120_000);

  it("the runtime entries do not load persist", () => {
    for (const entry of ["@mzts/storage/legacy-runtime", "@mzts/storage/runtime"]) {
      const loaded = loadedModules(pkg, [entry]);
      expect(loaded.some((u) => u.includes("/mz-cluster/dist/communication/mesh.js"))).toBe(true);
      expect(loaded.filter((u) => heavy(u) || u.includes("/persist/dist/"))).toEqual([]);
    }
  }, 120_000);
});
