import { BUILT_PHASES, PhaseSet } from "@mzts/flags";
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
      controllerListen: {
        layout: "workloads",
        compute: { host: "127.0.0.1", port: 0 },
        storage: { host: "127.0.0.1", port: 2100 },
      },
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

  describe("controller layout (cluster-unification-client)", () => {
    // `client` is built (BUILT_PHASES); listed explicitly so the test does not depend on that.
    const onePort = JSON.stringify(
      PhaseSet.of("u1", { servers: true, replicas: true, client: true }, [
        ...BUILT_PHASES,
        "client",
      ]),
    );

    it("takes --cluster-listen when client takes effect, and only then", () => {
      const c = parseConfig([...base, "--phases", onePort, "--cluster-listen", "127.0.0.1:0"]);
      expect(c.controllerListen).toEqual({
        layout: "cluster",
        cluster: { host: "127.0.0.1", port: 0 },
      });
      expect(parseConfig([...base, "--phases", onePort]).controllerListen).toEqual({
        layout: "cluster",
        cluster: { host: "127.0.0.1", port: 2102 },
      });
      // The flag on but not built (noEffect): the two-port layout, as the launcher resolved it.
      const notBuilt = JSON.stringify(
        PhaseSet.of("u1", { servers: true, replicas: true, client: true }, ["servers", "replicas"]),
      );
      expect(parseConfig([...base, "--phases", notBuilt]).controllerListen.layout).toBe(
        "workloads",
      );
    });

    it("refuses the other layout's flags, naming them", () => {
      for (const flag of ["--compute-listen", "--storage-listen"]) {
        const e = configError(["--phases", onePort, flag, "127.0.0.1:0"]);
        expect(e.flag).toBe(flag);
        expect(e.message).toMatch(/one port, pass --cluster-listen/);
      }
      const e = configError(["--cluster-listen", "127.0.0.1:0"]);
      expect(e.flag).toBe("--cluster-listen");
      expect(e.message).toMatch(/pass --compute-listen and --storage-listen/);
      expect(
        configError([
          "--phases",
          onePort,
          "--cluster-listen",
          "127.0.0.1:7000",
          "--http-listen",
          "127.0.0.1:7000",
        ]).message,
      ).toMatch(/--cluster-listen\/--http-listen.*must differ/);
    });
  });
});
