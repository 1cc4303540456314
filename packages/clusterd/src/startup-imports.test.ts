/**
 * What a (re)starting clusterd loads before it can serve (issue 16, rehydration). Runs the built
 * `dist` in child processes and lists the modules loaded.
 * - Its main thread's modules must not pull in the LaunchDarkly SDK (it only parses the PhaseSet
 *   it is handed; `@mzts/flags/phases`): ~240 ms of CPU of a restart's module loading.
 * - What `main.ts` imports statically — all that runs before `selectRuntimes` spawns the worker
 *   threads — must not load the serving side (Connect, the protobuf runtime) nor the workers'
 *   (persist, dataflow): those load after the spawn, while the workers load theirs.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadedModules } from "@mzts/mz-cluster/testing";
import { describe, expect, it } from "vitest";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");

describe("clusterd startup imports", () => {
  it("the main thread's modules do not load the LaunchDarkly SDK", () => {
    const script = `
      import { createRequire } from "node:module";
      import { pathToFileURL } from "node:url";
      for (const m of ["config", "select", "serve", "controller-ports", "http", "metrics", "secret"]) {
        await import(pathToFileURL(${JSON.stringify(dist)} + "/" + m + ".js").href);
      }
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      process.stdout.write(JSON.stringify(loaded.filter((k) => k.includes("launchdarkly"))));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: join(dist, ".."),
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(JSON.parse(out)).toEqual([]);
  }, 90_000);

  it("what runs before the workers are spawned loads neither the serving side nor the workers'", () => {
    // main.js's static imports (its serving modules are imported once `selectRuntimes` spawned).
    const main = readFileSync(join(dist, "main.js"), "utf8");
    const statics = [...main.matchAll(/^import\s[^;]*?from\s+"([^"]+)";/gms)].map((m) =>
      m[1]!.startsWith(".") ? `./dist/${m[1]!.slice(2)}` : m[1]!,
    );
    expect(statics).toContain("./dist/select.js");
    const loaded = loadedModules(join(dist, ".."), statics);
    expect(loaded.some((u) => u.endsWith("/clusterd/dist/select.js"))).toBe(true);
    expect(
      loaded.filter((u) =>
        /@connectrpc|@bufbuild|launchdarkly|\/(persist|dataflow|protocol|storage|compute)\/dist\//.test(
          u,
        ),
      ),
    ).toEqual([]);
  }, 90_000);
});
