#!/usr/bin/env node
/**
 * clusterd: one replica process. The composition root of the replica side, and the only place
 * that branches on a phase (style §16): the launcher passes the cluster's PhaseSet, read once.
 *
 * ## Flow
 * 1. Parse and check the configuration and read the controller secret (`ConfigError` → message
 *    on stderr, exit code 2). Without a secret clusterd refuses to start unless
 *    `--insecure-no-auth` is passed explicitly (tests).
 * 2. Announce the path (`cluster-unification-servers` in force → the unified runtime of
 *    `mz-cluster`; else each workload's legacy server; `cluster-unification-logging` taking
 *    effect → unified logging: compute hosts the log indexes, storage forwards its events, see
 *    `select.ts`) with an info log and the gauge `mz_cluster_unification_phase_enabled{phase}`.
 * 3. Start the compute and storage runtimes (W worker threads each) and serve their controllers
 *    (`controller-ports.ts`): `cluster-unification-client` taking effect → one port
 *    (`--cluster-listen`) serving `ClusterService`, both workloads on one stream; else compute and
 *    storage on their own ports (the legacy layout); and `/metrics`, `/health`, `/ready` on
 *    HTTP/1.1. The ready line carries the ports chosen: `clusterPort` or `computePort` and
 *    `storagePort`, and `httpPort`.
 * 4. Run until SIGTERM/SIGINT (graceful: servers closed, workers stopped, exit 0), a worker
 *    failure (exit 1; the orchestrator restarts the replica and the controller rehydrates it), or
 *    no controller on any controller port for `--controller-absent-timeout` (exit 0: nothing
 *    lingers).
 */
import { mkdirSync } from "node:fs";
import { PHASES } from "@mzts/flags/phases";
import { pino } from "pino";
import { collectDefaultMetrics } from "prom-client";
import { ConfigError, parseConfig } from "./config.js";
import type { ServedControllers } from "./controller-ports.js";
import {
  createMetrics,
  registerIntrospectionMetrics,
  registerWorkerHeapMetrics,
} from "./metrics.js";
import { selectRuntimes } from "./select.js";

// Startup order (issue 16, rehydration): the modules above are the few a replica needs to spawn
// its worker threads (`selectRuntimes`); the serving side (Connect, the protobuf codecs, the
// secret's parser) is imported after that, while the workers load theirs — each thread loads
// its own modules, and a restarted replica serves only once all of them have.
// `startup-imports.test.ts` guards it.

/** Exits with code 2 and what to fix on a `ConfigError`; anything else is rethrown. */
function exitOnConfigError(e: unknown): never {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\nrun clusterd --help for the flags\n`);
    process.exit(2);
  }
  if ((e as { code?: string }).code === "commander.helpDisplayed") process.exit(0);
  throw e;
}

let config: ReturnType<typeof parseConfig>;
try {
  config = parseConfig(process.argv.slice(2));
} catch (e) {
  exitOnConfigError(e);
}

const logger = pino({
  level: config.logLevel,
  base: { cluster_id: config.clusterId, replica_id: config.replicaId, pid: process.pid },
});
const metrics = createMetrics();
collectDefaultMetrics({ register: metrics.registry }); // process memory and heap for soak runs
for (const phase of PHASES)
  metrics.phaseEnabled.set({ phase }, config.phases.takesEffect(phase) ? 1 : 0);

mkdirSync(config.persistDir, { recursive: true });
const selected = await selectRuntimes(config.phases, {
  workers: config.workers,
  replicaId: config.replicaId,
  logLevel: config.logLevel,
  persistDir: config.persistDir,
  registry: metrics.registry,
  logger,
});
// The workers are loading their modules: the main thread loads the serving side meanwhile.
const serving = Promise.all([import("./controller-ports.js"), import("./http.js")]);
let secret: Uint8Array | null;
try {
  secret =
    config.controllerSecretFile === null
      ? null
      : (await import("./secret.js")).readControllerSecret(config.controllerSecretFile);
} catch (e) {
  exitOnConfigError(e);
}
registerIntrospectionMetrics(metrics.registry, () => selected.compute.logging);
registerWorkerHeapMetrics(metrics.registry, selected);
if (secret === null) {
  logger.warn(
    "--insecure-no-auth: controller hellos are not authenticated; any process that reaches the ports can drive this replica",
  );
}
logger.info(
  {
    path: selected.path,
    logging: selected.logging,
    phases: config.phases.toJSON(),
    workers: config.workers,
  },
  `clusterd starting on the ${selected.path} path (cluster-unification-servers ${selected.path === "unified" ? "in force" : "not in force"}; ${selected.logging} logging)`,
);

let stopping = false;
let controllers: ServedControllers | undefined;
let httpServer: { port: number; close(): Promise<void> } | undefined;
async function shutdown(code: number, reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ reason, code }, "clusterd shutting down");
  const timer = setTimeout(() => process.exit(code), 5000);
  timer.unref();
  await Promise.allSettled([controllers?.close(), httpServer?.close()]);
  await Promise.allSettled([selected.compute.close(), selected.storage.close()]);
  process.exit(code);
}

for (const [name, rt] of [
  ["compute", selected.compute],
  ["storage", selected.storage],
] as const) {
  rt.onFailure((err) => {
    logger.fatal(
      { workload: name, err: err.message },
      "worker failed; exiting so the replica is restarted",
    );
    void shutdown(1, err.message);
  });
}

process.on("SIGTERM", () => void shutdown(0, "SIGTERM"));
process.on("SIGINT", () => void shutdown(0, "SIGINT"));

try {
  await Promise.all([selected.compute.ready, selected.storage.ready]);
} catch (e) {
  if (!stopping) {
    logger.fatal({ err: (e as Error).message }, "workers failed to start");
    await shutdown(1, "workers failed to start");
  }
  // A shutdown is under way (e.g. SIGTERM during start): it exits the process.
  await new Promise(() => {});
}

const [{ serveControllers }, { serveHttp }] = await serving;
// The no-controller clock starts once the runtimes are up.
controllers = await serveControllers({
  listen: config.controllerListen,
  selected,
  clusterId: config.clusterId,
  replicaId: config.replicaId,
  secret,
  noControllerTimeoutMs: config.noControllerTimeoutMs,
  onNoController: () =>
    void shutdown(0, `no controller connected for ${config.noControllerTimeoutMs} ms`),
  metrics,
  logger,
});
const ports = controllers.ports;
let listening = false;
httpServer = await serveHttp(config.httpListen, metrics.registry, {
  describe: () => ({
    clusterId: config.clusterId,
    replicaId: config.replicaId,
    path: selected.path,
    workers: config.workers,
    ...ports,
    phases: config.phases.toJSON(),
  }),
  healthy: () => !stopping,
  ready: () => listening && !stopping,
});
listening = true;
// One machine-readable line for launchers (the orchestrator and tests read the ports from it).
logger.info({ ...ports, httpPort: httpServer.port }, "clusterd ready");
