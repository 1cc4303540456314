/**
 * What a (re)starting clusterd loads before it can serve: its main thread's modules must not pull
 * in the LaunchDarkly SDK (it only parses the PhaseSet it is handed; `@mzts/flags/phases`). The
 * SDK was ~240 ms of CPU of a restart's module loading (issue 16, rehydration). Runs the built
 * `dist` in a child process and lists the CommonJS modules it loaded.
 */
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
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
});
