/**
 * clusterd's controller layouts as a real process (loopback, port 0, a temp persist dir, the
 * replica secret in a 0600 file):
 * - `cluster-unification-client` taking effect: the ready line carries `clusterPort` (and no
 *   compute/storage port); one `ClusterService.Control` stream drives the real compute runtime (a
 *   peek of an unknown collection is answered in-band) and the real storage runtime (a
 *   deterministic counter ingests to its final frontier, then is dropped) with hellos signed per
 *   sub-protocol; `/metrics` shows one TCP connection and one stream on the cluster port, commands
 *   by workload; `ComputeService`/`StorageService.Control` there is `Unimplemented`.
 * - not taking effect (legacy): `computePort`/`storagePort`, and `ClusterService` is
 *   `Unimplemented`.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { startTestClusterd, type TestClusterd, waitUntil as until } from "@mzts/clusterd/testing";
import { BUILT_PHASES, PhaseSet } from "@mzts/flags";
import { openClusterStream } from "@mzts/mz-cluster";
import {
  type ClusterCommand,
  type ComputeCommand,
  clusterRequestToProto,
  computeRequestToProto,
  createHello,
  type Hello,
  type StorageCommand,
  signHello,
  storageRequestToProto,
} from "@mzts/protocol";
import { deterministicCounter } from "@mzts/protocol/testing/storage-commands";
import { ClusterService, ComputeService, StorageService } from "@mzts/protocol/wire";
import { afterEach, describe, expect, it } from "vitest";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

/** Starts clusterd with `phases` on `layout`; stopped after the test. */
async function startClusterd(
  phases: PhaseSet,
  layout: "one-port" | "two-port",
  absentTimeout?: string,
): Promise<TestClusterd> {
  const c = await startTestClusterd({
    phases,
    layout,
    replicaId: "r1",
    ...(absentTimeout === undefined ? {} : { absentTimeout }),
  });
  cleanup.push(c.stop);
  return c;
}

/** The value of one sample of `/metrics`, or undefined. */
async function sample(httpPort: unknown, series: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${String(httpPort)}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The Connect code a `Control` call of `service` at `port` ends with. */
async function controlCode(
  service: typeof ComputeService | typeof StorageService | typeof ClusterService,
  port: unknown,
  request: unknown,
): Promise<Code | undefined> {
  const client = createClient(
    service as typeof ComputeService,
    createGrpcTransport({ baseUrl: `http://127.0.0.1:${String(port)}` }),
  );
  try {
    for await (const _ of client.control(
      (async function* () {
        yield request as never;
      })(),
    )) {
      // any response means it was served
      return undefined;
    }
    return undefined;
  } catch (e) {
    return ConnectError.from(e).code;
  }
}

const compute = (command: ComputeCommand): ClusterCommand => ({ kind: "compute", command });
const storage = (command: StorageCommand): ClusterCommand => ({ kind: "storage", command });
const PEEK_UUID = "00000000-0000-4000-8000-000000000001";

const onePort = PhaseSet.of("u1", { servers: true, replicas: true, client: true }, [
  ...BUILT_PHASES,
  "client",
]);

describe("clusterd controller layout", () => {
  it("one port (client takes effect): ClusterService drives compute and storage over one stream", async () => {
    const { ready, secret } = await startClusterd(onePort, "one-port");
    expect(Object.keys(ready)).toEqual(expect.arrayContaining(["clusterPort", "httpPort"]));
    expect(ready).not.toHaveProperty("computePort");
    expect(ready).not.toHaveProperty("storagePort");

    const hello: Hello = createHello(1n);
    const s = openClusterStream(`http://127.0.0.1:${String(ready.clusterPort)}`);
    cleanup.push(async () => {
      s.end();
      await s.done;
    });
    s.send([
      storage({ kind: "hello", hello: signHello(hello, secret, "storage") }),
      compute({ kind: "hello", hello: signHello(hello, secret, "compute") }),
      compute({
        kind: "createInstance",
        config: {
          logging: { enabled: false, intervalMs: 0, logLogging: false, indexLogs: new Map() },
        },
      }),
      storage({ kind: "initializationComplete" }),
      storage({ kind: "allowWrites" }),
      compute({ kind: "initializationComplete" }),
      storage({
        kind: "runIngestion",
        id: "u10",
        description: deterministicCounter("u10", "one-port-u10"),
      }),
      compute({
        kind: "peek",
        peek: {
          uuid: PEEK_UUID,
          target: { kind: "index", id: "u99" },
          arity: 1,
          timestamp: 1n,
          mapFilterProject: { exprs: [], predicates: [], projection: [0] },
          finishing: { orderBy: [], offset: 0, project: [0] },
        },
      }),
    ]);
    // Compute answers the peek in-band (no such index here).
    await until("the peek's answer", () =>
      s.compute.some((r) => r.kind === "peekResponse" && r.uuid === PEEK_UUID),
    );
    const answer = s.compute.find((r) => r.kind === "peekResponse");
    expect(answer).toMatchObject({ response: { kind: "error" } });
    // Storage ingests the counter to its final frontier, then drops it when asked.
    await until("the counter's final frontier", () =>
      s.storage.some(
        // The empty frontier (`Frontier.EMPTY` of @mzts/repr) is null.
        (r) => r.kind === "frontierUpper" && r.id === "u10" && r.upper === null,
      ),
    );
    s.send([storage({ kind: "allowCompaction", id: "u10", frontier: null })]);
    await until("droppedId", () => s.storage.some((r) => r.kind === "droppedId" && r.id === "u10"));

    // One TCP connection and one stream carry both workloads; commands count by workload.
    const http = ready.httpPort;
    expect(
      await sample(http, 'mz_cluster_controller_transport_connections{server_name="cluster"}'),
    ).toBe(1);
    expect(await sample(http, 'mz_cluster_controller_streams{server_name="cluster"}')).toBe(1);
    expect(await sample(http, 'mz_cluster_controller_connections_total{workload="compute"}')).toBe(
      1,
    );
    expect(await sample(http, 'mz_cluster_controller_connections_total{workload="storage"}')).toBe(
      1,
    );
    expect(
      await sample(
        http,
        'mz_cluster_commands_total{workload="storage",command_type="runIngestion"}',
      ),
    ).toBe(1);
    expect(
      await sample(http, 'mz_cluster_commands_total{workload="compute",command_type="peek"}'),
    ).toBe(1);

    // The per-workload services are not served on the cluster port.
    const computeHello = computeRequestToProto([{ kind: "hello", hello: createHello(2n) }]);
    const storageHello = storageRequestToProto([{ kind: "hello", hello: createHello(2n) }]);
    expect(await controlCode(ComputeService, ready.clusterPort, computeHello)).toBe(
      Code.Unimplemented,
    );
    expect(await controlCode(StorageService, ready.clusterPort, storageHello)).toBe(
      Code.Unimplemented,
    );
    // …and the stream was not disturbed by them.
    expect(await sample(http, 'mz_cluster_controller_streams{server_name="cluster"}')).toBe(1);
  });

  it("two ports (client not in effect): compute and storage ports, ClusterService is Unimplemented", async () => {
    const { ready } = await startClusterd(PhaseSet.of("u1", { servers: true }), "two-port");
    expect(ready).toMatchObject({
      computePort: expect.any(Number),
      storagePort: expect.any(Number),
      httpPort: expect.any(Number),
    });
    expect(ready).not.toHaveProperty("clusterPort");
    expect(
      await controlCode(
        ClusterService,
        ready.computePort,
        clusterRequestToProto([
          { kind: "compute", command: { kind: "hello", hello: createHello(2n) } },
        ]),
      ),
    ).toBe(Code.Unimplemented);
  });

  it("one port: a cluster stream counts as the controller of both workloads for the no-controller timeout", async () => {
    const { ready, secret, exited } = await startClusterd(onePort, "one-port", "1500ms");
    let code: number | null | undefined;
    void exited.then((c) => {
      code = c;
    });
    // Only the storage sub-protocol has said hello: the stream still counts for compute too.
    const s = openClusterStream(`http://127.0.0.1:${String(ready.clusterPort)}`);
    s.send([storage({ kind: "hello", hello: signHello(createHello(1n), secret, "storage") })]);
    await new Promise((r) => setTimeout(r, 3000));
    expect(code).toBeUndefined();
    // Once the stream ends, nothing lingers: clusterd exits 0 after the timeout.
    s.end();
    expect(await s.done).toBeUndefined();
    const t0 = Date.now();
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });
});
