import { PhaseSet } from "@mzts/flags";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "./config.js";

const ids = ["--cluster-id", "u1", "--replica-id", "u2", "--persist-dir", "/tmp/p"];
const base = [...ids, "--controller-secret-file", "/tmp/p/secret"];

function configError(args: string[]): ConfigError {
  try {
    parseConfig([...base, ...args]);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("parseConfig", () => {
  it("applies loopback defaults and parses every flag", () => {
    const phases = PhaseSet.of("u1", { servers: true });
    const c = parseConfig([
      ...base,
      "--workers",
      "3",
      "--compute-listen",
      "127.0.0.1:0",
      "--phases",
      JSON.stringify(phases),
      "--controller-absent-timeout",
      "2m",
    ]);
    expect(c).toMatchObject({
      clusterId: "u1",
      replicaId: "u2",
      workers: 3,
      computeListen: { host: "127.0.0.1", port: 0 },
      storageListen: { host: "127.0.0.1", port: 2100 },
      httpListen: { host: "127.0.0.1", port: 6878 },
      noControllerTimeoutMs: 120_000,
      logLevel: "info",
    });
    expect(c.phases.takesEffect("servers")).toBe(true);
    expect(parseConfig(base).phases.takesEffect("servers")).toBe(false);
    expect(
      parseConfig([...base, "--controller-absent-timeout", "1500ms"]).noControllerTimeoutMs,
    ).toBe(1500);
  });

  it("names the flag and says what to pass", () => {
    expect(configError(["--workers", "0"]).message).toMatch(/--workers.*integer >= 1/);
    expect(configError(["--compute-listen", "2101"]).message).toMatch(/HOST:PORT/);
    expect(configError(["--controller-absent-timeout", "soon"]).message).toMatch(
      /duration such as 300s/,
    );
    expect(configError(["--log-level", "loud"]).flag).toBe("--log-level");
    expect(configError(["--phases", "[]"]).flag).toBe("--phases");
    expect(configError(["--phases", JSON.stringify(PhaseSet.of("u9"))]).message).toMatch(
      /for cluster u9, but --cluster-id is u1/,
    );
    expect(
      configError(["--compute-listen", "127.0.0.1:7000", "--storage-listen", "127.0.0.1:7000"])
        .message,
    ).toMatch(/must differ/);
    expect(() => parseConfig(["--replica-id", "u1", "--persist-dir", "/x"])).toThrow(/cluster-id/);
  });

  it("requires the controller secret file, or an explicit --insecure-no-auth", () => {
    expect(parseConfig(base).controllerSecretFile).toBe("/tmp/p/secret");
    expect(parseConfig([...ids, "--insecure-no-auth"]).controllerSecretFile).toBeNull();
    let err: unknown;
    try {
      parseConfig(ids);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(
      /--controller-secret-file.*required.*--insecure-no-auth/,
    );
    expect(configError(["--insecure-no-auth"]).message).toMatch(/contradicts/);
  });
});
