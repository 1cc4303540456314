#!/usr/bin/env node
/**
 * environmentd: boots the environment on embedded defaults — a data directory holding the
 * catalog (SQLite), persist (SQLite + files) and the process orchestrator's records, a flags file
 * (LaunchDarkly file data source) — and serves the API. With `--demo` it also creates the demo
 * objects on first boot (a rerun resumes them from the catalog) and redraws a live status every
 * second until Ctrl-C.
 *
 * Ctrl-C / SIGTERM: the API closes and environmentd exits; replicas keep running for the next
 * boot to adopt, and exit on their own after `--controller-absent-timeout` without a controller.
 * Fenced (another environmentd booted a newer generation on the same catalog): exit code 3,
 * leaving the replicas to the newer one. Exit code 1: boot failed (the error says why).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { pino } from "pino";
import { collectDefaultMetrics, Registry } from "prom-client";
import { startApiServer } from "./api/server.js";
import { ensureDemo, renderStatus } from "./demo.js";
import { createEnvironment } from "./environment.js";

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`expected a port number, got "${value}"`);
  return n;
}

const program = new Command("environmentd")
  .description("the mzts environment: catalog, controllers, orchestrator and API")
  .option("--data-dir <dir>", "catalog, persist and orchestrator state", ".mzdata")
  .option(
    "--flags-file <file>",
    "phase flags (LaunchDarkly file data source); default <data-dir>/flags.json",
  )
  .option("--grpc-port <port>", "API over gRPC (h2c), loopback", port, 6875)
  .option("--http-port <port>", "API as Connect JSON over HTTP/1.1, /metrics, /health", port, 6876)
  .option(
    "--controller-absent-timeout <seconds>",
    "replicas exit this long after the last environmentd",
    port,
    120,
  )
  .option("--demo", "create the demo objects (once) and show a live status", false)
  .option("--log-level <level>", "pino level for the JSON logs (stderr)", "warn")
  .parse();
const o = program.opts<{
  dataDir: string;
  flagsFile?: string;
  grpcPort: number;
  httpPort: number;
  controllerAbsentTimeout: number;
  demo: boolean;
  logLevel: string;
}>();

const dataDir = resolve(o.dataDir);
mkdirSync(dataDir, { recursive: true });
const flagsFile = resolve(o.flagsFile ?? join(dataDir, "flags.json"));
if (!existsSync(flagsFile)) {
  // Every phase off: the legacy paths. Edit the file (it is watched) to roll a phase out.
  writeFileSync(
    flagsFile,
    `${JSON.stringify({ flagValues: { "cluster-unification-servers": false } }, null, 2)}\n`,
  );
}
const logger = pino({ level: o.logLevel }, pino.destination(2));
const registry = new Registry();
collectDefaultMetrics({ register: registry }); // process_resident_memory_bytes, nodejs_heap_*: the soak reads them
const say = (line: string) => process.stdout.write(`${line}\n`);

say(`environmentd: data directory ${dataDir}, flags ${flagsFile}`);
let api: Awaited<ReturnType<typeof startApiServer>> | undefined;
const env = await createEnvironment({
  dataDir,
  flagsFile,
  logger,
  registry,
  controllerAbsentTimeoutMs: o.controllerAbsentTimeout * 1000,
  // Profiling hook (benches): Node.js options for every clusterd, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p".
  ...(process.env.MZ_CLUSTERD_NODE_ARGS
    ? { clusterdNodeArgs: process.env.MZ_CLUSTERD_NODE_ARGS.split(/\s+/).filter(Boolean) }
    : {}),
  onFenced: (newer) => {
    say(
      `environmentd: fenced by a newer environmentd (generation ${newer}) on this data directory; exiting and leaving the replicas to it`,
    );
    void (api?.close() ?? Promise.resolve()).finally(() => process.exit(3));
  },
});
api = await startApiServer({
  environment: env,
  registry,
  logger,
  grpcPort: o.grpcPort,
  httpPort: o.httpPort,
});
say(
  `environmentd: generation ${env.generation}; API gRPC ${api.grpcUrl}, Connect JSON + /metrics ${api.httpUrl}`,
);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  say(
    `\nenvironmentd: ${signal}: stopping (replicas keep running for the next boot, then exit on their own)`,
  );
  await api?.close();
  await env.close({ keepReplicas: true });
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));

if (o.demo) {
  await ensureDemo(env, say);
  const interactive = process.stdout.isTTY === true;
  for (;;) {
    if (stopping) break;
    const screen = await renderStatus(env).catch(
      (e: unknown) => `status unavailable: ${(e as Error).message}`,
    );
    process.stdout.write(interactive ? `\x1b[2J\x1b[H${screen}\n` : `${screen}\n---\n`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
