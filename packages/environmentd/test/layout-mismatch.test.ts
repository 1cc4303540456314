/**
 * A replica/controller layout mismatch through the composition root (design §9 phase 4): the
 * cluster's connectors speak the one-port layout (`ClusterService`) to a replica that serves
 * only other services (HTTP/2 answers 404 = Connect `Unimplemented`, as a two-port clusterd
 * does). The compute instance's replica status carries the typed `ReplicaLayoutMismatch` with
 * what to do (environmentd's replica health reason is that `lastError`), and the controller keeps
 * retrying with the crash-loop backoff instead of spinning.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { createComputeController } from "@mzts/compute-client";
import { PhaseSet } from "@mzts/flags";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, expect, it } from "vitest";
import { selectControllers } from "../src/controllers.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

it("shows a layout mismatch in the replica's status and backs off", async () => {
  const server = http2.createServer((_req, res) => {
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(() => new Promise((r) => server.close(r)));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const compute = createComputeController({
    generation: 1n,
    logger: pino({ level: "silent" }),
    registry: new Registry(),
  });
  cleanup.push(() => compute.close());
  const chosen = selectControllers(
    PhaseSet.of("u1", { servers: true, replicas: true, client: true }),
    { layoutOf: () => "one-port" },
  );
  compute.createInstance(
    "u1",
    { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
    { connector: chosen.compute.connector },
  );
  compute.addReplica("u1", "u7", { computeUrl: url });

  const deadline = Date.now() + 10_000;
  let status = compute.replicas("u1")[0];
  while (!(status?.lastError ?? "").includes("layout mismatch") && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    status = compute.replicas("u1")[0];
  }
  expect(status?.lastError).toMatch(
    /replica layout mismatch: replica u7 does not serve mz\.cluster\.v1\.ClusterService/,
  );
  expect(status?.lastError).toMatch(/Drop and recreate the replica/);
  expect(status?.lastError).toMatch(/cluster-unification-client back to off/);
  // Retried with backoff (125 ms doubling), not in a tight loop.
  await new Promise((r) => setTimeout(r, 1500));
  const failures = compute.replicas("u1")[0]?.failures ?? 0;
  expect(failures).toBeGreaterThanOrEqual(2);
  expect(failures).toBeLessThan(10);
});
