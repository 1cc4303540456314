/**
 * A replica driven by another process (one that got hold of the replica secret) refuses
 * environmentd's hellos as stale. environmentd checks the catalog: its generation is still the
 * newest, so the replica's status says no newer environmentd booted and what to do — instead of
 * a silent reconnect loop or a false "fenced". (Without the secret the same process is refused:
 * compute-client's controller test and e2e's clusterd test show that.)
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { PhaseSet } from "@mzts/flags";
import { loadRecords } from "@mzts/orchestrator";
import { computeRequestToProto, createHello, parseReplicaSecret, signHello } from "@mzts/protocol";
import { ComputeService } from "@mzts/protocol/wire";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, expect, it } from "vitest";
import { createEnvironment, type Environment } from "../src/index.js";

let dir: string | undefined;
let env: Environment | undefined;
const abort = new AbortController();
afterEach(async () => {
  abort.abort();
  await env?.close().catch(() => undefined);
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function until<T>(f: () => Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it("says a replica was taken over by another process, not that this environmentd is fenced", async () => {
  dir = mkdtempSync(join(tmpdir(), "mzts-replica-auth-"));
  const dataDir = dir;
  env = await createEnvironment({
    dataDir,
    phaseFlags: (id) => PhaseSet.of(id, { servers: true }),
    logger: pino({ level: "silent" }),
    registry: new Registry(),
    fenceCheckMs: 100,
    shardGcIntervalMs: 0,
  });
  const e = env;
  await e.createCluster({ name: "c" });
  await e.createReplica({ cluster: "c", name: "r1", size: 1 });
  const replica = async () => (await e.status({})).clusters[0]?.replicas[0];
  await until(async () => ((await replica())?.health === "online" ? true : undefined), "online");

  // The intruder holds the secret and sends generation + 5 to the replica's compute port.
  const secret = parseReplicaSecret(readFileSync(join(dataDir, "replica-secret"), "utf8"));
  const ports = loadRecords(dataDir).records[0]?.ports;
  const port = ports !== undefined && ports !== null && "compute" in ports ? ports.compute : 0;
  const client = createClient(
    ComputeService,
    createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }),
  );
  const hello = signHello(createHello(e.generation + 5n), secret, "compute");
  void (async () => {
    try {
      for await (const _ of client.control(
        (async function* () {
          yield computeRequestToProto([{ kind: "hello", hello }]);
          await new Promise((r) => abort.signal.addEventListener("abort", r));
        })(),
        { signal: abort.signal },
      )) {
      }
    } catch (err) {
      ConnectError.from(err);
    }
  })();

  const reason = await until(async () => {
    const r = await replica();
    return r?.health === "offline" && /refuses/.test(r.reason) ? r.reason : undefined;
  }, "the refusal in the status");
  expect(reason).toMatch(
    new RegExp(
      `accepted a hello of generation ${e.generation + 5n}, but the catalog's generation is ${e.generation}: no newer environmentd booted`,
    ),
  );
  expect(reason).toMatch(/restart the replica/);
  // Not fenced: this environmentd keeps working.
  await e.createCluster({ name: "d" });
}, 60_000);
