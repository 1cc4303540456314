/**
 * mzctl: a command-line client of `mz.environment.v1.EnvironmentService` (environmentd's API),
 * one subcommand per rpc. It talks gRPC (h2c) to `--url` (default `http://127.0.0.1:6875`, the
 * environmentd default gRPC port).
 *
 * Output: human text by default (aligned tables; rows rendered with `Datum.format`); with
 * `--json`, the protobuf JSON of each response, one document per line (a stream prints one line
 * per batch). Progress while waiting (a peek waiting for its time, a replica hydrating) goes to
 * stderr.
 *
 * Exit codes: 0 success; 1 an rpc failed (`error: <code>: <message>` on stderr) or the server is
 * unreachable (the message says how to start it); 2 a usage error (commander's message).
 */
import { readFileSync } from "node:fs";
import {
  create,
  type DescMessage,
  fromJsonString,
  type MessageShape,
  toJsonString,
} from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { environmentCodecs, MAX_API_MESSAGE_BYTES } from "@mzts/protocol";
import { EnvironmentService, exprV1, environmentV1 as S, storageV1 } from "@mzts/protocol/wire";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { refusedStreamIsUnavailable } from "../api/refused-stream.js";
import type { CliContext, EnvironmentClient } from "./context.js";
import { addIntrospectionCommand } from "./introspection.js";
import { type CliIo, frontierText, peekTable, rowCells, table, withProgress } from "./render.js";
import { migrationsText } from "./render-migrations.js";

/** The default API address: environmentd's default gRPC port on loopback. */
export const DEFAULT_URL = "http://127.0.0.1:6875";

interface GlobalOptions {
  url: string;
  json: boolean;
}

function uint(what: string, min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > 0xffff_ffff)
      throw new InvalidArgumentError(`expected ${what} (an integer ≥ ${min}), got "${value}"`);
    return n;
  };
}

function u64(what: string): (value: string) => bigint {
  return (value) => {
    if (!/^\d+$/.test(value) || BigInt(value) >= 1n << 64n)
      throw new InvalidArgumentError(`expected ${what} (an unsigned integer), got "${value}"`);
    return BigInt(value);
  };
}

function keyColumns(value: string): number[] {
  if (value.trim() === "") return [];
  return value.split(",").map((part) => uint("a key column index")(part.trim()));
}

/** Thrown by a command that failed for a reason already explained (exit 1, no stack). */
class CliFailure extends Error {
  override readonly name = "CliFailure";
}

/**
 * Build the mzctl program. Output goes through `io`; `signal` (optional) stops long-running
 * commands (`subscribe`, `status --watch`) as Ctrl-C does.
 */
export function createProgram(io: CliIo, signal?: AbortSignal): Command {
  const program = new Command("mzctl")
    .description("command-line client of the mzts environment API (environmentd)")
    .option("--url <url>", "environmentd gRPC API (h2c)", DEFAULT_URL)
    .option("--json", "machine output: protobuf JSON of each response, one per line", false)
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  let cached: EnvironmentClient | undefined;
  const client = (): EnvironmentClient => {
    cached ??= createClient(
      EnvironmentService,
      createGrpcTransport({
        baseUrl: globals().url,
        readMaxBytes: MAX_API_MESSAGE_BYTES,
        writeMaxBytes: MAX_API_MESSAGE_BYTES,
        // A request racing environmentd's close is Unavailable, not Internal.
        interceptors: [refusedStreamIsUnavailable],
      }),
    );
    return cached;
  };
  const globals = () => program.opts<GlobalOptions>();
  /** Print a response: its protobuf JSON with --json, else `human()`. */
  const print = <D extends DescMessage>(
    schema: D,
    message: MessageShape<D>,
    human: () => string,
  ): void => {
    io.stdout(globals().json ? `${toJsonString(schema, message)}\n` : human());
  };
  const callOptions = () => (signal === undefined ? {} : { signal });
  const ctx: CliContext = { io, client, print, callOptions, uint, u64 };

  // ---- clusters -------------------------------------------------------------------------
  const clusters = program.command("clusters").description("create, drop and list clusters");
  clusters
    .command("list")
    .description("clusters and their replicas")
    .action(async () => {
      const res = await client().listClusters({}, callOptions());
      print(S.ListClustersResponseSchema, res, () =>
        table(
          ["CLUSTER", "ID", "INTROSPECTION_MS", "REPLICAS"],
          res.clusters.map((c) => [
            c.name,
            c.id,
            c.introspectionIntervalMs === 0 ? "off" : String(c.introspectionIntervalMs),
            c.replicas.map((r) => `${r.name}(${r.id}, size ${r.size})`).join(", "),
          ]),
        ),
      );
    });
  clusters
    .command("create <name>")
    .description("create an empty cluster (add replicas with `replicas create`)")
    .option(
      "--introspection-interval-ms <ms>",
      "introspection interval: 0 = logging off, else 100..3600000 (server default 1000)",
      uint("an interval"),
    )
    .action(async (name: string, o: { introspectionIntervalMs?: number }) => {
      const res = await client().createCluster(
        {
          name,
          ...(o.introspectionIntervalMs === undefined
            ? {}
            : { introspectionIntervalMs: o.introspectionIntervalMs }),
        },
        callOptions(),
      );
      print(S.CreateClusterResponseSchema, res, () => `created cluster ${name} (${res.id})\n`);
    });
  clusters
    .command("drop <name>")
    .description("drop a cluster and its replicas")
    .option("--cascade", "also drop the objects installed on it", false)
    .action(async (name: string, o: { cascade: boolean }) => {
      const res = await client().dropCluster({ name, cascade: o.cascade }, callOptions());
      print(S.DropClusterResponseSchema, res, () => `dropped cluster ${name}\n`);
    });

  // ---- replicas -------------------------------------------------------------------------
  const replicas = program.command("replicas").description("add and remove cluster replicas");
  replicas
    .command("create <cluster> <name>")
    .description("add a replica (a clusterd process) and wait until it is online (hydrated)")
    .option("--size <workers>", "worker threads", uint("a size", 1), 1)
    .option("--no-wait", "return at once instead of waiting for the replica to be online")
    .option(
      "--wait-timeout-ms <ms>",
      "give up waiting after this long",
      uint("a timeout", 1),
      60_000,
    )
    .action(
      async (
        cluster: string,
        name: string,
        o: { size: number; wait: boolean; waitTimeoutMs: number },
      ) => {
        const res = await client().createReplica({ cluster, name, size: o.size }, callOptions());
        if (o.wait) {
          await withProgress(
            io,
            `replica ${cluster}.${name} hydrating`,
            waitOnline(client(), cluster, name, o.waitTimeoutMs, signal),
          );
        }
        print(
          S.CreateReplicaResponseSchema,
          res,
          () =>
            `created replica ${cluster}.${name} (${res.id}, size ${o.size})${o.wait ? ", online" : ""}\n`,
        );
      },
    );
  replicas
    .command("drop <cluster> <name>")
    .description("remove a replica; the cluster keeps serving from the others")
    .action(async (cluster: string, name: string) => {
      const res = await client().dropReplica({ cluster, name }, callOptions());
      print(S.DropReplicaResponseSchema, res, () => `dropped replica ${cluster}.${name}\n`);
    });

  // ---- sources, indexes, views ------------------------------------------------------------
  const sources = program.command("sources").description("create load-generator sources");
  sources
    .command("create <name>")
    .description("create a real-time load-generator source and its subsources")
    .requiredOption("--cluster <cluster>", "cluster that runs it")
    .addOption(new Option("--counter", "counter generator (one subsource)").conflicts("auction"))
    .addOption(new Option("--auction", "auction generator (five subsources)"))
    // A bigint default needs its help text spelled out: commander JSON-encodes defaults.
    .addOption(new Option("--seed <n>", "generator seed").argParser(u64("a seed")).default(1n, "1"))
    .option("--tick-ms <ms>", "milliseconds between ticks", uint("a tick interval", 1), 1000)
    .option(
      "--max-cardinality <n>",
      "counter only: keep at most this many rows",
      u64("a row count"),
    )
    .option(
      "--max-auctions <n>",
      "auction only: keep the newest n auctions (>= 10), retracting older ones with their bids",
      u64("an auction count"),
    )
    .action(
      async (
        name: string,
        o: {
          cluster: string;
          counter?: boolean;
          auction?: boolean;
          seed: bigint;
          tickMs: number;
          maxCardinality?: bigint;
          maxAuctions?: bigint;
        },
        cmd: Command,
      ) => {
        if (o.counter !== true && o.auction !== true)
          cmd.error("error: choose a generator: --counter or --auction", { exitCode: 2 });
        if (o.auction === true && o.maxCardinality !== undefined)
          cmd.error("error: --max-cardinality applies to --counter only", { exitCode: 2 });
        if (o.counter === true && o.maxAuctions !== undefined)
          cmd.error("error: --max-auctions applies to --auction only", { exitCode: 2 });
        const loadGenerator = create(storageV1.LoadGeneratorConnectionSchema, {
          generator:
            o.counter === true
              ? {
                  case: "counter",
                  value: o.maxCardinality === undefined ? {} : { maxCardinality: o.maxCardinality },
                }
              : {
                  case: "auction",
                  value: o.maxAuctions === undefined ? {} : { maxAuctions: o.maxAuctions },
                },
          seed: o.seed,
          tickIntervalMs: o.tickMs,
        });
        const res = await client().createSource(
          { name, cluster: o.cluster, loadGenerator },
          callOptions(),
        );
        print(
          S.CreateSourceResponseSchema,
          res,
          () =>
            `created source ${name} (${res.id})\n${table(
              ["SUBSOURCE", "ID"],
              res.subsources.map((s) => [s.name, s.id]),
            )}`,
        );
      },
    );

  const indexes = program.command("indexes").description("create indexes (arrangements)");
  indexes
    .command("create <name>")
    .description("index a source, subsource or materialized view on a cluster")
    .requiredOption("--cluster <cluster>", "cluster that maintains it")
    .requiredOption("--on <object>", "the indexed object")
    .option("--key <columns>", "key columns, e.g. 0,2 (default: the whole row)", keyColumns, [])
    .action(async (name: string, o: { cluster: string; on: string; key: number[] }) => {
      const res = await client().createIndex(
        { name, cluster: o.cluster, on: o.on, key: o.key },
        callOptions(),
      );
      print(S.CreateIndexResponseSchema, res, () => `created index ${name} (${res.id})\n`);
    });

  const views = program.command("views").description("create materialized views");
  views
    .command("create <name>")
    .description("create a materialized view from a plan (its `get` nodes name inputs by id)")
    .requiredOption("--cluster <cluster>", "cluster that maintains it")
    .requiredOption("--plan-file <file>", "protobuf JSON of an mz.expr.v1.Plan")
    .action(async (name: string, o: { cluster: string; planFile: string }, cmd: Command) => {
      let plan: MessageShape<typeof exprV1.PlanSchema>;
      try {
        plan = fromJsonString(exprV1.PlanSchema, readFileSync(o.planFile, "utf8"));
      } catch (e) {
        cmd.error(
          `error: cannot read --plan-file ${o.planFile}: ${(e as Error).message}; ` +
            "it must hold the protobuf JSON of an mz.expr.v1.Plan",
          { exitCode: 2 },
        );
      }
      const res = await client().createMaterializedView(
        { name, cluster: o.cluster, plan },
        callOptions(),
      );
      print(
        S.CreateMaterializedViewResponseSchema,
        res,
        () => `created materialized view ${name} (${res.id})\n`,
      );
    });

  // ---- objects ------------------------------------------------------------------------------
  const objects = program.command("objects").description("list and drop catalog objects");
  objects
    .command("list")
    .description("sources, subsources, indexes and materialized views (JSON: and introspection)")
    .option("--cluster <cluster>", "only objects on this cluster")
    .action(async (o: { cluster?: string }) => {
      const res = await client().listObjects(
        o.cluster === undefined ? {} : { cluster: o.cluster },
        callOptions(),
      );
      const list = environmentCodecs.listObjectsResponse.fromProto(res);
      // The introspection relations (every cluster has each) are listed by `mzctl introspection`.
      const own = list.objects.filter((x) => x.kind !== "introspection");
      const introspection = list.objects.length - own.length;
      print(
        S.ListObjectsResponseSchema,
        res,
        () =>
          table(
            ["NAME", "ID", "KIND", "CLUSTER", "ARITY", "ON", "KEY"],
            own.map((x) => [
              x.name,
              x.id,
              x.kind,
              x.cluster,
              String(x.arity),
              x.on ?? "",
              x.key.join(","),
            ]),
          ) +
          (introspection === 0
            ? ""
            : `(and ${introspection} mz_introspection relations: \`mzctl introspection\`)\n`),
      );
    });
  objects
    .command("drop <name>")
    .description("drop a source (with its subsources), index or materialized view")
    .option("--cascade", "also drop dependents", false)
    .action(async (name: string, o: { cascade: boolean }) => {
      const res = await client().dropObject({ name, cascade: o.cascade }, callOptions());
      print(S.DropObjectResponseSchema, res, () => `dropped ${name}\n`);
    });

  // ---- reads --------------------------------------------------------------------------------
  program
    .command("peek <object>")
    .description("read an object at a time (default: the freshest complete time)")
    .option("--at <timestamp-ms>", "read at exactly this time (waits for it)", u64("a timestamp"))
    .option(
      "--timeout-ms <ms>",
      "give up after this long (server default 10 s)",
      uint("a timeout", 1),
    )
    .option("--replica <name>", "only this replica of the object's cluster answers")
    .option("--cluster <name>", "the object's cluster (mz_introspection.<relation>: whose)")
    .action(
      async (
        object: string,
        o: { at?: bigint; timeoutMs?: number; replica?: string; cluster?: string },
      ) => {
        const res = await withProgress(
          io,
          `peek ${object}${o.at === undefined ? "" : ` at ${o.at}`}`,
          client().peek(
            {
              object,
              ...(o.at === undefined ? {} : { timestamp: o.at }),
              ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
              ...(o.replica === undefined ? {} : { replica: o.replica }),
              ...(o.cluster === undefined ? {} : { cluster: o.cluster }),
            },
            callOptions(),
          ),
        );
        const peek = environmentCodecs.peekResponse.fromProto(res);
        print(S.PeekResponseSchema, res, () => peekTable(peek));
      },
    );

  program
    .command("subscribe <object>")
    .description("print an object's snapshot, then every change, until done or Ctrl-C")
    .option(
      "--as-of <timestamp-ms>",
      "start here (default: the freshest complete time)",
      u64("a timestamp"),
    )
    .option("--up-to <timestamp-ms>", "stop once the upper reaches this time", u64("a timestamp"))
    .action(async (object: string, o: { asOf?: bigint; upTo?: bigint }) => {
      const stream = client().subscribe(
        {
          object,
          ...(o.asOf === undefined ? {} : { asOf: o.asOf }),
          ...(o.upTo === undefined ? {} : { upTo: o.upTo }),
        },
        callOptions(),
      );
      try {
        for await (const res of stream) {
          const batch = environmentCodecs.subscribeResponse.fromProto(res);
          print(S.SubscribeResponseSchema, res, () =>
            batch.updates
              .map(
                ([row, time, diff]) =>
                  `${time}  ${diff > 0 ? "+" : ""}${diff}  ${rowCells(row).join("  ")}\n`,
              )
              .join(""),
          );
          if (batch.upper === null && !globals().json) io.stdout("(complete)\n");
        }
      } catch (e) {
        if (signal?.aborted === true) return; // Ctrl-C: a normal end
        throw e;
      }
    });

  addIntrospectionCommand(program, ctx);

  // ---- status and flags -----------------------------------------------------------------------
  program
    .command("status")
    .description("replica health, collection frontiers and lag, flags per cluster")
    .option("--cluster <cluster>", "only this cluster")
    .option("--watch", "redraw every second until Ctrl-C", false)
    .action(async (o: { cluster?: string; watch: boolean }) => {
      const request = o.cluster === undefined ? {} : { cluster: o.cluster };
      const redraw = o.watch && !globals().json && process.stdout.isTTY === true;
      do {
        let res: MessageShape<typeof S.StatusResponseSchema>;
        try {
          res = await client().status(request, callOptions());
        } catch (e) {
          if (o.watch && signal?.aborted === true) return;
          throw e;
        }
        if (redraw) io.stdout("\x1b[2J\x1b[H");
        print(S.StatusResponseSchema, res, () => renderStatus(res));
        if (o.watch && !redraw && !globals().json) io.stdout("---\n");
      } while (o.watch && (await sleep(1000, signal)));
    });

  program
    .command("flags")
    .description("the phase flags per cluster (in force, applied, flipping)")
    .option("--cluster <cluster>", "only this cluster")
    .action(async (o: { cluster?: string }) => {
      const res = await client().getFlags(
        o.cluster === undefined ? {} : { cluster: o.cluster },
        callOptions(),
      );
      const flags = environmentCodecs.getFlagsResponse.fromProto(res);
      print(S.GetFlagsResponseSchema, res, () =>
        table(
          ["CLUSTER", "FLAG", "ENABLED", "IN_FORCE", "APPLIED", "FLIPPING", "BLOCKED_BY"],
          flags.clusters.flatMap((c) =>
            c.flags.map((f) => [
              c.cluster,
              f.key,
              yesNo(f.enabled),
              yesNo(f.inForce),
              yesNo(f.applied),
              yesNo(f.flipping),
              f.blockedBy.join(","),
            ]),
          ),
        ),
      );
    });

  return program;
}

function yesNo(b: boolean): string {
  return b ? "yes" : "no";
}

/**
 * `mzctl status` as text: per cluster its replicas, collections, flags, controllers, flip and
 * migration stages (`render-migrations.ts`).
 */
export function renderStatus(res: MessageShape<typeof S.StatusResponseSchema>): string {
  const status = environmentCodecs.statusResponse.fromProto(res);
  if (status.clusters.length === 0)
    return "no clusters (create one with `mzctl clusters create`)\n";
  return status.clusters
    .map((c) => {
      const replicas =
        c.replicas.length === 0
          ? "  no replicas (add one with `mzctl replicas create`)\n"
          : indent(
              table(
                ["REPLICA", "ID", "SIZE", "HEALTH", "REASON"],
                c.replicas.map((r) => [r.name, r.id, String(r.size), r.health, r.reason]),
              ),
            );
      const collections =
        c.collections.length === 0
          ? ""
          : indent(
              table(
                ["COLLECTION", "ID", "WRITE_FRONTIER", "SINCE", "LAG_MS"],
                c.collections.map((x) => [
                  x.name,
                  x.id,
                  frontierText(x.writeFrontier),
                  frontierText(x.since),
                  x.lagMs === undefined ? "" : String(x.lagMs),
                ]),
              ),
            );
      const failed = c.collections
        .filter((x) => x.failed !== undefined)
        .map((x) => `  FAILED ${x.name}: ${x.failed}\n`)
        .join("");
      const flags = c.flags
        .filter((f) => f.enabled || f.applied)
        .map((f) => `${f.key}${f.inForce ? "" : " (blocked)"}${f.flipping ? " (flipping)" : ""}`);
      const controllers = (c.controllers ?? []).map((p) => `${p.seam} ${p.path}`).join(", ");
      const interval =
        c.introspectionIntervalMs === 0
          ? "introspection off"
          : `introspection every ${c.introspectionIntervalMs} ms`;
      const flip =
        c.flip === undefined
          ? ""
          : `  flip ${c.flip.state} to [${c.flip.target}]: ${c.flip.step} (since ${new Date(
              c.flip.stepSinceMs,
            ).toISOString()})${c.flip.error === undefined ? "" : `: ${c.flip.error}`}\n`;
      return `cluster ${c.name} (${c.id}, ${interval})\n${replicas}${collections}${failed}  flags on: ${
        flags.length === 0 ? "none" : flags.join(", ")
      }\n${controllers === "" ? "" : `  controllers: ${controllers}\n`}${flip}${migrationsText(
        c.migrations,
      )}`;
    })
    .join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => (l === "" ? l : `  ${l}`))
    .join("\n");
}

/** Resolve true after `ms`, or false at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Poll Status until the replica is online; CliFailure after `timeoutMs`. */
async function waitOnline(
  client: EnvironmentClient,
  cluster: string,
  name: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const status = environmentCodecs.statusResponse.fromProto(
      await client.status({ cluster }, signal === undefined ? {} : { signal }),
    );
    const replica = status.clusters
      .find((c) => c.name === cluster)
      ?.replicas.find((r) => r.name === name);
    if (replica?.health === "online") return;
    last = replica === undefined ? "not listed" : `${replica.health} ${replica.reason}`.trim();
    if (Date.now() >= deadline)
      throw new CliFailure(
        `replica ${cluster}.${name} is not online after ${timeoutMs} ms (last: ${last}); ` +
          "check `mzctl status` and environmentd's log, or raise --wait-timeout-ms",
      );
    if (!(await sleep(200, signal))) throw new CliFailure("interrupted while waiting");
  }
}

/** A Connect code as on the wire: `not_found`, `failed_precondition`, … */
function codeName(code: Code): string {
  return (Code[code] ?? String(code)).replace(
    /[A-Z]/g,
    (c, i: number) => `${i === 0 ? "" : "_"}${c.toLowerCase()}`,
  );
}

/** The hint for an unreachable environmentd. */
function unreachable(url: string): string {
  return (
    `error: cannot reach environmentd at ${url} (connection refused).\n` +
    "Start it first: `bash scripts/demo.sh` (a demo environment) or " +
    "`node packages/environmentd/dist/main.js` (gRPC on 6875), or point --url at a running one.\n"
  );
}

function isConnectionRefused(e: unknown): boolean {
  for (let c: unknown = e, depth = 0; c !== undefined && c !== null && depth < 5; depth++) {
    const o = c as { code?: unknown; message?: unknown; cause?: unknown };
    if (o.code === "ECONNREFUSED") return true;
    if (typeof o.message === "string" && o.message.includes("ECONNREFUSED")) return true;
    c = o.cause;
  }
  return false;
}

/**
 * Parse `argv` (as `process.argv`) and run the command. Returns the exit code: 0 success, 1 a
 * failed rpc or unreachable server, 2 a usage error. Never calls `process.exit`.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  signal?: AbortSignal,
): Promise<number> {
  const program = createProgram(io, signal);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof CliFailure) {
      io.stderr(`error: ${e.message}\n`);
      return 1;
    }
    const url = program.opts<GlobalOptions>().url;
    if (isConnectionRefused(e)) {
      io.stderr(unreachable(url));
      return 1;
    }
    if (e instanceof ConnectError) {
      if (e.code === Code.Canceled && signal?.aborted === true) return 130;
      io.stderr(`error: ${codeName(e.code)}: ${e.rawMessage}\n`);
      return 1;
    }
    io.stderr(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
