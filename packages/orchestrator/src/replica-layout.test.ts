/**
 * The replica layout as the orchestrator hands it to clusterd: read from the PhaseSet, turned
 * into `--cluster-listen` (one-port) or `--compute-listen`/`--storage-listen` (two-port), the
 * ready line's ports parsed for either, the location both controllers connect to, and the
 * records on disk accepting either shape.
 */
import { BUILT_PHASES, PhaseSet } from "@mzts/flags";
import { describe, expect, it } from "vitest";
import {
  type ClusterdConfig,
  clusterdArgs,
  findReadyPorts,
  locationOf,
} from "./clusterd-process.js";
import type { ReplicaSpec } from "./orchestrator.js";
import { replicaLayout } from "./replica-layout.js";

const withClient = [...new Set([...BUILT_PHASES, "client" as const])];
const onePort = PhaseSet.of("u1", { servers: true, replicas: true, client: true }, withClient);
const twoPort = PhaseSet.of("u1", { servers: true, replicas: true }, withClient);
const config: ClusterdConfig = {
  clusterdPath: "/x/main.js",
  host: "127.0.0.1",
  persistDir: "/p",
  absentTimeoutMs: 1000,
  logLevel: "info",
  secretFile: null,
  startTimeoutMs: 1000,
  nodeArgs: [],
};
const spec = (phases: PhaseSet): ReplicaSpec => ({
  clusterId: "u1",
  replicaId: "r1",
  workers: 1,
  phases,
  generation: 1,
});

describe("replica layout", () => {
  it("is one-port exactly when client takes effect", () => {
    expect(replicaLayout(onePort)).toBe("one-port");
    expect(replicaLayout(twoPort)).toBe("two-port");
    // In force but not built: no effect, two ports.
    const notBuilt = PhaseSet.of("u1", { servers: true, replicas: true, client: true }, [
      "servers",
      "replicas",
    ]);
    expect(replicaLayout(notBuilt)).toBe("two-port");
  });

  it("launches one-port replicas with --cluster-listen only, reusing the preferred port", () => {
    const args = clusterdArgs(config, spec(onePort), null);
    expect(args).toContain("--cluster-listen");
    expect(args[args.indexOf("--cluster-listen") + 1]).toBe("127.0.0.1:0");
    expect(args).not.toContain("--compute-listen");
    expect(args).not.toContain("--storage-listen");
    const again = clusterdArgs(config, spec(onePort), { cluster: 4100, http: 4101 });
    expect(again[again.indexOf("--cluster-listen") + 1]).toBe("127.0.0.1:4100");
    expect(again[again.indexOf("--http-listen") + 1]).toBe("127.0.0.1:4101");
  });

  it("launches two-port replicas as before", () => {
    const args = clusterdArgs(config, spec(twoPort), { compute: 1, storage: 2, http: 3 });
    expect(args[args.indexOf("--compute-listen") + 1]).toBe("127.0.0.1:1");
    expect(args[args.indexOf("--storage-listen") + 1]).toBe("127.0.0.1:2");
    expect(args).not.toContain("--cluster-listen");
    // Ports of the other layout are not reused.
    const other = clusterdArgs(config, spec(twoPort), { cluster: 9, http: 3 });
    expect(other[other.indexOf("--compute-listen") + 1]).toBe("127.0.0.1:0");
  });

  it("parses either ready line", () => {
    const one = JSON.stringify({ msg: "clusterd ready", clusterPort: 7, httpPort: 8 });
    const two = JSON.stringify({
      msg: "clusterd ready",
      computePort: 1,
      storagePort: 2,
      httpPort: 3,
    });
    expect(findReadyPorts(`noise\n${one}\n`)).toEqual({ cluster: 7, http: 8 });
    expect(findReadyPorts(two)).toEqual({ compute: 1, storage: 2, http: 3 });
    expect(findReadyPorts(JSON.stringify({ msg: "clusterd ready", httpPort: 8 }))).toBeNull();
  });

  it("gives both controllers the cluster port in the one-port layout", () => {
    expect(locationOf("127.0.0.1", { cluster: 7, http: 8 })).toEqual({
      computeUrl: "http://127.0.0.1:7",
      storageUrl: "http://127.0.0.1:7",
      clusterUrl: "http://127.0.0.1:7",
      httpUrl: "http://127.0.0.1:8",
    });
    expect(locationOf("::1", { compute: 1, storage: 2, http: 3 })).toEqual({
      computeUrl: "http://[::1]:1",
      storageUrl: "http://[::1]:2",
      httpUrl: "http://[::1]:3",
    });
  });
});
