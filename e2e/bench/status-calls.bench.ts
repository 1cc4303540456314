/**
 * Status at scale, in process (issue 16): what one API Status call costs environmentd at N
 * indexes, without the scale bench's rehydration and process overhead. Builds, for each build
 * compared, one environment (`createEnvironment` from that build's `dist`) with one cluster, one
 * replica (size 1), a COUNTER source and N indexes on its subsource, waits until every index is
 * listed, then calls Status the way the API server does (`env.status` → the response codec →
 * protobuf binary) in rounds that alternate the builds, so load affects both alike. Reports, per
 * build, the p50 of the wall time and of the process CPU time of a call, and the ratios to the
 * first build. The responses of the builds are compared (everything but the lag, which moves).
 * Two figures per build, in the same rounds: `handler` (`env.status` → codec → binary, what the
 * API server's handler does) and `api` (a Status call over gRPC to that build's API server,
 * `startApiServer`, from a client in this process, as `mzctl` and the scale bench make it: the
 * transport, the server's handling, the client's decode).
 *
 * `--profile <dir>`: after the rounds, each build's API Status calls run once more under the
 * in-process inspector (`<dir>/<label>.cpuprofile`, only those calls) and the profile's summary
 * is printed (`profile/cpuprofile-summary.ts`).
 *
 * Usage: tsx bench/status-calls.bench.ts [--indexes 1000] [--rounds 10] [--calls 20]
 *        [--phases off|on] [--profile DIR] LABEL=PATH/TO/environmentd/dist/index.js ...
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type * as Envd from "@mzts/environmentd";
import { PhaseSet } from "@mzts/flags";
import { environmentCodecs, type StatusResponse } from "@mzts/protocol";
import { EnvironmentService, environmentV1 } from "@mzts/protocol/wire";
import { pino } from "pino";
import { Registry } from "prom-client";
import { type CpuProfile, formatSummary, summarize } from "./profile/cpuprofile-summary.js";

const HELP = `usage: tsx bench/status-calls.bench.ts [--indexes N] [--rounds R] [--calls C]
  [--phases off|on] [--profile DIR] LABEL=path/to/environmentd/dist/index.js ...`;

const args = process.argv.slice(2);
let indexes = 1000;
let rounds = 10;
let calls = 20;
let phasesOn = false;
let profileDir: string | undefined;
const builds: { label: string; path: string }[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === "--indexes") indexes = Number(args[++i]);
  else if (a === "--rounds") rounds = Number(args[++i]);
  else if (a === "--calls") calls = Number(args[++i]);
  else if (a === "--phases") phasesOn = args[++i] === "on";
  else if (a === "--profile") profileDir = args[++i];
  else if (a === "--help") {
    console.log(HELP);
    process.exit(0);
  } else if (a.includes("=")) {
    const [label, path] = a.split("=") as [string, string];
    builds.push({ label, path });
  } else throw new Error(`unknown argument ${a}\n${HELP}`);
}
if (builds.length === 0 || ![indexes, rounds, calls].every((n) => Number.isInteger(n) && n > 0))
  throw new Error(HELP);

const progress = (s: string) => process.stderr.write(`${s}\n`);
const load = () =>
  loadavg()
    .map((v) => v.toFixed(1))
    .join(" / ");
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const p50 = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const C = environmentCodecs;

/** One Status call as the API server answers it: the call, the codec, protobuf binary. */
async function statusCall(env: Envd.Environment): Promise<StatusResponse> {
  const res = await env.status(C.statusRequest.fromProto(C.statusRequest.toProto({})));
  toBinary(environmentV1.StatusResponseSchema, C.statusResponse.toProto(res));
  return res;
}

interface Side {
  readonly label: string;
  readonly env: Envd.Environment;
  readonly api: { close(): Promise<void> };
  readonly client: Client<typeof EnvironmentService>;
  readonly sessions: Http2SessionManager;
  readonly dir: string;
  readonly wallMs: number[];
  readonly cpuMs: number[];
  readonly apiWallMs: number[];
  readonly apiCpuMs: number[];
}

/** One Status call over gRPC, decoded as the harness's client decodes it. */
async function apiCall(s: Side): Promise<StatusResponse> {
  return C.statusResponse.fromProto(await s.client.status(C.statusRequest.toProto({})));
}

async function build(label: string, path: string): Promise<Side> {
  const m = (await import(path)) as typeof Envd;
  const dir = mkdtempSync(join(tmpdir(), `status-bench-${label}-`));
  const env = await m.createEnvironment({
    dataDir: dir,
    phaseFlags: (id) =>
      PhaseSet.of(
        id,
        phasesOn ? { servers: true, replicas: true, logging: true, client: true, state: true } : {},
      ),
    logger: pino({ level: "silent" }),
    registry: new Registry(),
  });
  await env.createCluster({ name: "c" });
  await env.createReplica({ cluster: "c", name: "r1", size: 1 });
  await env.createSource({
    name: "ticker",
    cluster: "c",
    loadGenerator: {
      kind: "loadGenerator",
      generator: { kind: "counter" },
      seed: 1n,
      tickIntervalMs: 1000,
    },
  } as Parameters<Envd.Environment["createSource"]>[0]);
  for (let i = 0; i < indexes; i++) {
    await env.createIndex({ name: `i${i}`, cluster: "c", on: "ticker_counter", key: [0] });
    if ((i + 1) % 250 === 0) progress(`  ${label}: ${i + 1} indexes created (load ${load()})`);
  }
  const deadline = Date.now() + 180_000;
  for (;;) {
    const s = await env.status({});
    const listed = s.clusters[0]?.collections.filter((c) => c.name.startsWith("i")).length ?? 0;
    if (listed >= indexes) break;
    if (Date.now() > deadline) throw new Error(`${label}: only ${listed} indexes listed`);
    await sleep(200);
  }
  const api = await m.startApiServer({ environment: env, registry: new Registry() });
  const sessions = new Http2SessionManager(api.grpcUrl);
  const client = createClient(
    EnvironmentService,
    createGrpcTransport({ baseUrl: api.grpcUrl, sessionManager: sessions }),
  );
  return {
    label,
    env,
    api,
    client,
    sessions,
    dir,
    wallMs: [],
    cpuMs: [],
    apiWallMs: [],
    apiCpuMs: [],
  };
}

/** The response without what moves between calls (lags, frontiers). */
const shape = (s: StatusResponse) =>
  JSON.stringify(s, (k, v) =>
    k === "lagMs" || k === "writeFrontier" || k === "since" || k === "stepSinceMs"
      ? undefined
      : typeof v === "bigint"
        ? v.toString()
        : v,
  );

const sides: Side[] = [];
try {
  for (const b of builds) {
    progress(
      `building ${b.label} (${b.path}), ${indexes} indexes, phases ${phasesOn ? "on" : "off"}`,
    );
    sides.push(await build(b.label, b.path));
  }
  const shapes = await Promise.all(sides.map(async (s) => shape(await statusCall(s.env))));
  for (let i = 1; i < shapes.length; i++)
    if (shapes[i] !== shapes[0]) {
      writeFileSync(join(tmpdir(), "status-bench-a.json"), shapes[0]!);
      writeFileSync(join(tmpdir(), `status-bench-${i}.json`), shapes[i]!);
      progress(`WARNING: ${sides[i]!.label}'s response differs from ${sides[0]!.label}'s`);
    }
  for (const s of sides)
    for (let i = 0; i < 5; i++) {
      await statusCall(s.env); // warm-up
      await apiCall(s);
    }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) {
      for (let i = 0; i < calls; i++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await statusCall(s.env);
        const t1 = performance.now();
        const c = process.cpuUsage(c0);
        s.wallMs.push(t1 - t0);
        s.cpuMs.push((c.user + c.system) / 1000);
        const c1 = process.cpuUsage();
        const t2 = performance.now();
        await apiCall(s);
        const t3 = performance.now();
        const d = process.cpuUsage(c1);
        s.apiWallMs.push(t3 - t2);
        s.apiCpuMs.push((d.user + d.system) / 1000);
      }
    }
  }
  const base = sides[0]!;
  console.log(
    `\nStatus at ${indexes} indexes (phases ${phasesOn ? "on" : "off"}), ${rounds} rounds × ${calls} calls, load ${load()}`,
  );
  console.log("| build | what | wall p50 ms | ÷ first | CPU p50 ms | ÷ first |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  const row = (s: Side, what: string, wall: (s: Side) => number[], cpu: (s: Side) => number[]) =>
    console.log(
      `| ${s.label} | ${what} | ${p50(wall(s)).toFixed(2)} | ${(p50(wall(s)) / p50(wall(base))).toFixed(2)} | ${p50(cpu(s)).toFixed(2)} | ${(p50(cpu(s)) / p50(cpu(base))).toFixed(2)} |`,
    );
  for (const s of sides)
    row(
      s,
      "handler",
      (x) => x.wallMs,
      (x) => x.cpuMs,
    );
  for (const s of sides)
    row(
      s,
      "api",
      (x) => x.apiWallMs,
      (x) => x.apiCpuMs,
    );
  if (profileDir !== undefined) {
    const session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 100 });
    for (const s of sides) {
      await session.post("Profiler.start");
      for (let i = 0; i < rounds * calls; i++) await apiCall(s);
      const { profile } = await session.post("Profiler.stop");
      // The first sample carries the time from Profiler.start to it (the inspector's dispatch).
      const p = profile as CpuProfile;
      const trimmed: CpuProfile = {
        ...p,
        samples: p.samples?.slice(1) ?? [],
        timeDeltas: [0, ...(p.timeDeltas?.slice(2) ?? [])],
      };
      writeFileSync(join(profileDir, `${s.label}.cpuprofile`), JSON.stringify(trimmed));
      console.log(
        formatSummary(`${s.label}: ${rounds * calls} Status calls`, summarize(trimmed), 25),
      );
    }
    session.disconnect();
  }
} finally {
  for (const s of sides) {
    s.sessions.abort();
    await s.api.close().catch(() => undefined);
    await s.env.close().catch(() => undefined);
    rmSync(s.dir, { recursive: true, force: true });
  }
}
