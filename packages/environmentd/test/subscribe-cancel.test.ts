/**
 * A subscribe whose client goes away while no batch comes releases its read hold (issue 10,
 * "Bounded resources under churn"). Under replica kills a subscribe can wait for a batch that
 * never comes; the client gives up, but the server's generator sat in its `await`, so its
 * `finally` never ran: the hold pinned the subsource's since forever, persist compacted nothing
 * and blobs grew with every tick (`pnpm chaos --seed 4 --seconds 60 --kinds replica`: 413 blobs).
 *
 * No processes: a cluster without replicas never answers a subscribe — the same wait. The holds
 * are read from `mz_storage_collection_read_holds` (the policy hold counts one).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { PhaseSet } from "@mzts/flags";
import { EnvironmentService } from "@mzts/protocol/wire";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, expect, it } from "vitest";
import { type ApiServer, startApiServer } from "../src/api/server.js";
import { createEnvironment, type Environment } from "../src/index.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

async function holds(registry: Registry, collectionId: string): Promise<number | undefined> {
  const metric = await registry.getSingleMetric("mz_storage_collection_read_holds")?.get();
  return metric?.values.find((v) => v.labels.collection_id === collectionId)?.value;
}

async function until(what: string, f: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "mzts-subscribe-cancel-"));
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  const registry = new Registry();
  const env: Environment = await createEnvironment({
    dataDir: dir,
    phaseFlags: (id) => PhaseSet.of(id, {}),
    logger: pino({ level: "silent" }),
    registry,
    readHoldTickMs: 60_000,
    shardGcIntervalMs: 0,
  });
  cleanup.push(() => env.close());
  await env.createCluster({ name: "c" });
  await env.createSource({
    name: "counter",
    cluster: "c",
    loadGenerator: {
      kind: "loadGenerator",
      generator: { kind: "counter" },
      seed: 1n,
      tickIntervalMs: 100,
    },
  });
  const { objects } = await env.listObjects({});
  const subsource = objects.find((o) => o.name === "counter_counter");
  expect(subsource).toBeDefined();
  return { env, registry, subsourceId: subsource!.id };
}

it("a subscribe aborted while it waits for a batch releases its hold (environment)", async () => {
  const { env, registry, subsourceId } = await setup();
  expect(await holds(registry, subsourceId)).toBe(1);
  const cancel = new AbortController();
  const iterator = env
    .subscribe({ object: "counter_counter", asOf: 0n }, cancel.signal)
    [Symbol.asyncIterator]();
  const next = iterator.next();
  await until("the subscribe's hold", async () => (await holds(registry, subsourceId)) === 2);
  cancel.abort();
  await until("the hold released", async () => (await holds(registry, subsourceId)) === 1);
  // The stream ends quietly: the caller went away, nobody is left to tell.
  expect(await next).toEqual({ done: true, value: undefined });
});

it("a subscribe call whose client goes away while no batch comes releases its hold", async () => {
  const { env, registry, subsourceId } = await setup();
  const api: ApiServer = await startApiServer({
    environment: env,
    registry,
    logger: pino({ level: "silent" }),
  });
  cleanup.push(() => api.close());
  const client = createClient(EnvironmentService, createGrpcTransport({ baseUrl: api.grpcUrl }));
  const cancel = new AbortController();
  const reading = (async () => {
    for await (const _ of client.subscribe(
      { object: "counter_counter" },
      { signal: cancel.signal },
    ));
  })().catch((e: unknown) => e);
  await until("the subscribe's hold", async () => (await holds(registry, subsourceId)) === 2);
  cancel.abort();
  await reading;
  await until("the hold released", async () => (await holds(registry, subsourceId)) === 1);
});
