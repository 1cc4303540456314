/**
 * `@mzts/mz-cluster/runtime` is what worker threads and a starting replica import: it must not
 * load the serving side (Connect, HTTP/2, the protobuf codecs), which every worker thread would
 * otherwise load again before a restarted replica can serve (issue 16, rehydration). Reads the
 * built `dist`.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadedModules } from "./testing/loaded-modules.js";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");

describe("@mzts/mz-cluster/runtime imports", () => {
  it("loads the runtime without Connect or the protobuf runtime", () => {
    const loaded = loadedModules(pkg, ["@mzts/mz-cluster/runtime"]);
    expect(loaded.some((u) => u.endsWith("/dist/runtime.js"))).toBe(true);
    expect(loaded.filter((u) => /@connectrpc|@bufbuild|\/protocol\/dist\//.test(u))).toEqual([]);
  }, 90_000);
});
