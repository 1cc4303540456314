/**
 * clusterd's configuration: command-line flags parsed into a checked `ClusterdConfig`.
 *
 * Every problem is a `ConfigError` naming the flag and what to pass instead; `main.ts` prints it
 * and exits with code 2 (bad usage), so a launcher (the orchestrator) sees a clear failure rather
 * than a replica that half starts.
 */

import { PhaseSet } from "@mzts/flags/phases";
import { Command, CommanderError, InvalidArgumentError } from "commander";

/** A listen address: loopback by default. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Where controllers connect, by the layout the PhaseSet selects (`cluster-unification-client`
 * taking effect → one port serving `ClusterService`; else one port per workload).
 */
export type ControllerListen =
  | { readonly layout: "cluster"; readonly cluster: ListenAddress }
  // PHASE(client): legacy — delete when cluster-unification-client is retired
  | {
      readonly layout: "workloads";
      readonly compute: ListenAddress;
      readonly storage: ListenAddress;
    };

export interface ClusterdConfig {
  readonly clusterId: string;
  readonly replicaId: string;
  /** Worker threads per runtime (compute and storage each). */
  readonly workers: number;
  /** The controller port(s) of the layout. */
  readonly controllerListen: ControllerListen;
  /** Plain HTTP/1.1: /metrics, /health, /ready. */
  readonly httpListen: ListenAddress;
  /** Directory of the embedded persist location (SQLite consensus + blob files). */
  readonly persistDir: string;
  /** The cluster's phase flags, read once by the launcher and passed in. */
  readonly phases: PhaseSet;
  /** Exit after this long with no controller connected; 0 = never. */
  readonly noControllerTimeoutMs: number;
  /** pino level. */
  readonly logLevel: string;
  /**
   * The file holding the environment's replica secret (`--controller-secret-file`); every
   * controller hello must prove it. `null` only with `--insecure-no-auth` (tests): then any
   * process that reaches the ports can drive the replica.
   */
  readonly controllerSecretFile: string | null;
}

/** Bad configuration; `main.ts` exits with code 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly flag: string,
    readonly reason: string,
  ) {
    super(`clusterd: invalid ${flag}: ${reason}`);
  }
}

function address(flag: string) {
  return (value: string): ListenAddress => {
    const m = /^(.*):(\d{1,5})$/.exec(value);
    const port = m ? Number(m[2]) : Number.NaN;
    if (!m?.[1] || port > 65535) {
      throw new InvalidArgumentError(
        `expected HOST:PORT such as 127.0.0.1:2101, got "${value}" (${flag})`,
      );
    }
    return { host: m[1].replace(/^\[|\]$/g, ""), port };
  };
}

function positiveInt(flag: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected an integer >= ${min}, got "${value}" (${flag})`);
    }
    return n;
  };
}

function duration(flag: string) {
  return (value: string): number => {
    const m = /^(\d+)(ms|s|m)?$/.exec(value);
    if (!m)
      throw new InvalidArgumentError(
        `expected a duration such as 300s, 5m or 1500ms, got "${value}" (${flag})`,
      );
    const n = Number(m[1]);
    return m[2] === "m" ? n * 60_000 : m[2] === "s" ? n * 1000 : n;
  };
}

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/**
 * Parses clusterd's argv (without the node and script entries).
 * @throws ConfigError
 */
export function parseConfig(argv: readonly string[]): ClusterdConfig {
  const program = new Command("clusterd")
    .description("a replica process: compute and storage workers serving their controllers")
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: (s) => process.stdout.write(s) })
    .requiredOption("--cluster-id <id>", "the cluster this replica belongs to (e.g. u1)")
    .requiredOption("--replica-id <id>", "this replica's id (e.g. u1)")
    .option("--workers <n>", "worker threads per runtime", positiveInt("--workers", 1), 1)
    .option(
      "--compute-listen <host:port>",
      "compute controller port (two-port layout: cluster-unification-client not in effect)",
      address("--compute-listen"),
      {
        host: "127.0.0.1",
        port: 2101,
      },
    )
    .option(
      "--storage-listen <host:port>",
      "storage controller port (two-port layout: cluster-unification-client not in effect)",
      address("--storage-listen"),
      {
        host: "127.0.0.1",
        port: 2100,
      },
    )
    .option(
      "--cluster-listen <host:port>",
      "the one controller port (ClusterService) when cluster-unification-client takes effect",
      address("--cluster-listen"),
      {
        host: "127.0.0.1",
        port: 2102,
      },
    )
    .option(
      "--http-listen <host:port>",
      "metrics and health (HTTP/1.1)",
      address("--http-listen"),
      {
        host: "127.0.0.1",
        port: 6878,
      },
    )
    .requiredOption("--persist-dir <dir>", "the embedded persist location (SQLite + blob files)")
    .option(
      "--phases <json>",
      "the cluster's PhaseSet as JSON (from the launcher); default: all phases off",
    )
    .option(
      "--controller-absent-timeout <duration>",
      "exit after this long without a controller (0 = never)",
      duration("--controller-absent-timeout"),
      300_000,
    )
    .option("--log-level <level>", "pino log level", "info")
    .option(
      "--controller-secret-file <path>",
      "the environment's replica secret (environmentd writes <data-dir>/replica-secret, mode 0600); controllers must prove it in every hello",
    )
    .option(
      "--insecure-no-auth",
      "accept controller hellos without proof of the secret (tests only: anyone who reaches the ports can drive the replica)",
    );
  try {
    program.parse(argv as string[], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") throw e;
      const flag =
        /'(--[a-z-]+)/.exec(e.message)?.[1] ??
        /\((--[a-z-]+)\)/.exec(e.message)?.[1] ??
        "arguments";
      throw new ConfigError(flag, e.message.replace(/^error: /, ""));
    }
    throw e;
  }
  const o = program.opts<{
    clusterId: string;
    replicaId: string;
    workers: number;
    computeListen: ListenAddress;
    storageListen: ListenAddress;
    clusterListen: ListenAddress;
    httpListen: ListenAddress;
    persistDir: string;
    phases?: string;
    controllerAbsentTimeout: number;
    logLevel: string;
    controllerSecretFile?: string;
    insecureNoAuth?: boolean;
  }>();
  if (!LEVELS.has(o.logLevel))
    throw new ConfigError("--log-level", `"${o.logLevel}" is not one of ${[...LEVELS].join(", ")}`);
  let phases: PhaseSet;
  try {
    phases = o.phases === undefined ? PhaseSet.of(o.clusterId) : PhaseSet.parse(o.phases);
  } catch (e) {
    throw new ConfigError("--phases", (e as Error).message);
  }
  if (phases.clusterId !== o.clusterId) {
    throw new ConfigError(
      "--phases",
      `the PhaseSet is for cluster ${phases.clusterId}, but --cluster-id is ${o.clusterId}`,
    );
  }
  const controllerListen = controllerListenOf(phases, o, (name) =>
    program.getOptionValueSource(name),
  );
  const listens =
    controllerListen.layout === "cluster"
      ? { "--cluster-listen": controllerListen.cluster }
      : // PHASE(client): legacy — delete when cluster-unification-client is retired
        {
          "--compute-listen": controllerListen.compute,
          "--storage-listen": controllerListen.storage,
        };
  const ports = [...Object.values(listens), o.httpListen].map((a) => a.port).filter((p) => p !== 0);
  if (new Set(ports).size !== ports.length) {
    const names = [...Object.keys(listens), "--http-listen"];
    throw new ConfigError(
      names.join("/"),
      `the ${names.length} ports must differ (or be 0 for any free port)`,
    );
  }
  if (o.controllerSecretFile === undefined && o.insecureNoAuth !== true) {
    throw new ConfigError(
      "--controller-secret-file",
      "is required: pass the environment's replica secret file (<environmentd data dir>/replica-secret; " +
        "the orchestrator does), or --insecure-no-auth to accept unauthenticated controllers (tests only)",
    );
  }
  if (o.controllerSecretFile !== undefined && o.insecureNoAuth === true) {
    throw new ConfigError(
      "--insecure-no-auth",
      "contradicts --controller-secret-file; pass one of them",
    );
  }
  return {
    clusterId: o.clusterId,
    replicaId: o.replicaId,
    workers: o.workers,
    controllerListen,
    httpListen: o.httpListen,
    persistDir: o.persistDir,
    phases,
    noControllerTimeoutMs: o.controllerAbsentTimeout,
    logLevel: o.logLevel,
    controllerSecretFile: o.controllerSecretFile ?? null,
  };
}

/**
 * The controller layout of `phases`, refusing the other layout's flags: with
 * `cluster-unification-client` taking effect only `--cluster-listen`, else only
 * `--compute-listen`/`--storage-listen` (a launcher that passes the wrong set resolved the phase
 * differently from the replica, and its controller would not find the port it expects).
 * @throws ConfigError naming the refused flag
 */
function controllerListenOf(
  phases: PhaseSet,
  o: { computeListen: ListenAddress; storageListen: ListenAddress; clusterListen: ListenAddress },
  source: (option: string) => string | undefined,
): ControllerListen {
  const given = (option: string) => source(option) !== undefined && source(option) !== "default";
  if (phases.takesEffect("client")) {
    for (const [option, flag] of [
      ["computeListen", "--compute-listen"],
      ["storageListen", "--storage-listen"],
    ] as const) {
      if (given(option)) {
        throw new ConfigError(
          flag,
          "is not served when cluster-unification-client takes effect (the --phases given): " +
            "this replica serves compute and storage on one port, pass --cluster-listen instead",
        );
      }
    }
    return { layout: "cluster", cluster: o.clusterListen };
  }
  // PHASE(client): legacy — delete when cluster-unification-client is retired
  if (given("clusterListen")) {
    throw new ConfigError(
      "--cluster-listen",
      "is served only when cluster-unification-client takes effect, which the --phases given do " +
        "not: this replica serves compute and storage on their own ports, pass --compute-listen " +
        "and --storage-listen instead",
    );
  }
  return { layout: "workloads", compute: o.computeListen, storage: o.storageListen };
}
