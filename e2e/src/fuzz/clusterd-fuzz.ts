/**
 * Fuzzing a standalone clusterd straight at its ports (`pnpm fuzz`, part 1), on one path (the
 * legacy two-server layout, `cluster-unification-servers` off, or the unified mz-cluster server,
 * on). Seeded: fast-check generates the commands (`@mzts/protocol/arbitraries`), a seeded `Rng`
 * picks the cases and mutations.
 *
 * Cases, each a raw gRPC stream (`raw-grpc.ts`) to the compute or the storage port:
 * - `random`: random bytes in a well-formed frame;
 * - `mutated`: a valid hello, then valid commands whose bytes were flipped, cut or extended;
 * - `commands`: a valid hello, then 1–5 random commands — every kind, any stage, bad values
 *   (unknown ids, random shards, frontiers at the extremes);
 * - `out-of-stage`: fixed sequences the stage rules forbid (a command before the hello,
 *   CreateInstance after InitializationComplete, two CreateInstance, …);
 * - `bad-frame`: lying length prefixes, an unknown flag byte, a compressed flag without an
 *   encoding, a cut header;
 * - `compressed`: a gzip-compressed valid hello (the controller never compresses) and gzip bombs
 *   (a few hundred KB inflating to `bombMb`);
 * - `large`: a valid CreateDataflow whose debug name is `largeMb` MB;
 * - `many-streams`: 100 streams at once, each with a hello, then all dropped.
 * Hellos carry increasing generations below the one the final session uses.
 *
 * Invariants (`problems`): clusterd never exits and answers /health; no stream ends with
 * Internal or Unknown (those are bugs: an undecodable payload is InvalidArgument); a compressed
 * or over-large message is refused, not accepted; no log line is longer than 64 KB (logged
 * strings are truncated); the peak RSS grows less than `maxRssGrowthMb`;
 * afterwards a proper session works (hello, replay: an ingestion and an indexed dataflow, a peek
 * that answers rows).
 */
import { gzipSync } from "node:zlib";
import { Code } from "@connectrpc/connect";
import { peakRssMb, rssMb } from "@mzts/environmentd";
import {
  type ComputeCommand,
  type ComputeResponse,
  createHello,
  encodeComputeCommand,
  encodeStorageCommand,
  MAX_COMMAND_MESSAGE_BYTES,
  type StorageCommand,
} from "@mzts/protocol";
import { computeCommand, storageCommand } from "@mzts/protocol/arbitraries";
import fc from "fast-check";
import { startClusterd } from "../harness/clusterd.js";
import { computeDriver, storageDriver } from "../harness/driver.js";
import { Rng } from "../harness/rng.js";
import { indexedDataflow, peekAll, runIngestion, START_MS, TICK_MS } from "../suites/scenario.js";
import { controlRequest, frame, RawGrpc } from "./raw-grpc.js";

export const FRAME_KINDS = [
  "random",
  "mutated",
  "commands",
  "out-of-stage",
  "bad-frame",
  "compressed",
  "large",
  "many-streams",
] as const;
export type FrameKind = (typeof FRAME_KINDS)[number];

export interface ClusterdFuzzOptions {
  readonly seed: number;
  readonly iterations: number;
  /** `cluster-unification-servers`: false = legacy two-server layout, true = unified. */
  readonly unified: boolean;
  readonly persistDir: string;
  /** Inflated size of a gzip bomb (default 256 MB; 0 skips bombs). */
  readonly bombMb?: number;
  /** Size of the large message (default: 1 MB over `MAX_COMMAND_MESSAGE_BYTES`, 65 MB). */
  readonly largeMb?: number;
  /** Allowed growth of clusterd's peak RSS over its RSS after start (default 200 MB). */
  readonly maxRssGrowthMb?: number;
  readonly log?: (line: string) => void;
}

export interface ClusterdFuzzReport {
  readonly path: "legacy" | "unified";
  /** Frames (or streams, for many-streams) sent per case kind. */
  readonly frames: Map<FrameKind, number>;
  /** Stream outcomes: `<kind> → <code>` counts. */
  readonly outcomes: Map<string, number>;
  readonly rssMb: { start: number; peak: number; end: number };
  /** Each distinct problem once, with how often it happened. */
  readonly problems: string[];
}

const COMPUTE = "/mz.compute.v1.ComputeService/Control";
/** The longest log line (or stderr) clusterd may write while being fuzzed. */
const MAX_LOG_LINE = 64 * 1024;
const STORAGE = "/mz.storage.v1.StorageService/Control";

type Workload = "compute" | "storage";

function bump<K>(m: Map<K, number>, k: K, by = 1): void {
  m.set(k, (m.get(k) ?? 0) + by);
}

function encode(w: Workload, cmds: readonly (ComputeCommand | StorageCommand)[]): Buffer {
  return controlRequest(
    cmds.map((c) =>
      w === "compute"
        ? encodeComputeCommand(c as ComputeCommand)
        : encodeStorageCommand(c as StorageCommand),
    ),
  );
}

export async function fuzzClusterd(opts: ClusterdFuzzOptions): Promise<ClusterdFuzzReport> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const path = opts.unified ? "unified" : "legacy";
  const rng = new Rng(opts.seed);
  const bombMb = opts.bombMb ?? 256;
  // Just over the replica's per-message limit: a message that size must be refused.
  const largeMb = opts.largeMb ?? MAX_COMMAND_MESSAGE_BYTES / 2 ** 20 + 1;
  const maxGrowth = opts.maxRssGrowthMb ?? 200;
  const report: ClusterdFuzzReport = {
    path,
    frames: new Map(),
    outcomes: new Map(),
    rssMb: { start: 0, peak: 0, end: 0 },
    problems: [],
  };
  const c = await startClusterd({
    persistDir: opts.persistDir,
    flags: { servers: opts.unified },
    workers: 2,
    replicaId: `fuzz-${path}`,
    // --insecure-no-auth: the fuzzed hellos are unsigned so that they reach the stage rules and
    // decoders behind the hello check; authentication has its own tests (clusterd.e2e).
    secret: null,
  });
  const pid = c.process.child.pid as number;
  const seen = new Map<string, number>();
  /** Records a problem (counted; listed once per text at the end). */
  const problem = (text: string) => seen.set(text, (seen.get(text) ?? 0) + 1);
  report.rssMb.start = rssMb(pid) ?? 0;
  const urls: Record<Workload, string> = { compute: c.computeUrl, storage: c.storageUrl };
  const conns: Record<Workload, RawGrpc> = {
    compute: new RawGrpc(c.computeUrl),
    storage: new RawGrpc(c.storageUrl),
  };
  // Random commands, never a hello (a random generation would fence the final session).
  const commands: Record<Workload, (ComputeCommand | StorageCommand)[]> = {
    compute: fc
      .sample(computeCommand, { seed: opts.seed, numRuns: opts.iterations * 3 })
      .filter((x) => x.kind !== "hello"),
    storage: fc
      .sample(storageCommand, { seed: opts.seed + 1, numRuns: opts.iterations * 3 })
      .filter((x) => x.kind !== "hello"),
  };
  let generation = 1n;
  const hello = () => ({ kind: "hello" as const, hello: createHello(generation++) });
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)] as T;
  const someCommands = (w: Workload, n: number) =>
    Array.from({ length: n }, () => pick(commands[w]));
  const send = async (
    kind: FrameKind,
    w: Workload,
    frames: readonly Buffer[],
    o: { gzip?: boolean; variant?: string } = {},
  ) => {
    bump(report.frames, kind, frames.length);
    const outcome = await conns[w].stream(w === "compute" ? COMPUTE : STORAGE, frames, o).outcome;
    const label = o.variant === undefined ? kind : `${kind} (${o.variant})`;
    bump(report.outcomes, `${label} → ${outcome}`);
    // Framing errors are the transport's to code (the gRPC spec itself says Internal for some);
    // everything that reaches the payload decoder must not end with Internal or Unknown.
    if (kind !== "bad-frame" && (outcome === Code[Code.Internal] || outcome === Code[Code.Unknown]))
      problem(`a ${label} stream to ${w} ended with ${outcome} (a bug)`);
    return outcome;
  };
  const refused = (outcome: string) => outcome !== "ok" && outcome !== "no end";

  /** Sequences the stage rules of `command.proto` forbid (each must be refused). */
  const outOfStage: ReadonlyArray<
    readonly [string, Workload, () => (ComputeCommand | StorageCommand)[]]
  > = [
    ["compute: a command before the hello", "compute", () => [{ kind: "initializationComplete" }]],
    [
      "compute: CreateInstance after InitializationComplete",
      "compute",
      () => [hello(), createInstance(), { kind: "initializationComplete" }, createInstance()],
    ],
    ["compute: two CreateInstance", "compute", () => [hello(), createInstance(), createInstance()]],
    [
      "compute: Schedule before CreateInstance",
      "compute",
      () => [hello(), { kind: "schedule", id: "u1" }],
    ],
    ["storage: a command before the hello", "storage", () => [{ kind: "allowWrites" }]],
    [
      "storage: two InitializationComplete",
      "storage",
      () => [hello(), { kind: "initializationComplete" }, { kind: "initializationComplete" }],
    ],
  ];

  const started = Date.now();
  let bombs = 0;
  try {
    for (let i = 0; i < opts.iterations; i++) {
      const w: Workload = rng.next() < 0.5 ? "compute" : "storage";
      // The heavy cases come at fixed points (so every run has them once); the rest are drawn.
      const forced: FrameKind | undefined =
        i === Math.floor(opts.iterations / 3)
          ? "compressed"
          : i === Math.floor((2 * opts.iterations) / 3)
            ? "large"
            : i === opts.iterations - 1
              ? "many-streams"
              : undefined;
      const kind =
        forced ??
        rng.weighted<FrameKind>([
          ["random", 20],
          ["mutated", 25],
          ["commands", 25],
          ["out-of-stage", 10],
          ["bad-frame", 10],
          ["compressed", 5],
        ]);
      switch (kind) {
        case "random": {
          const bytes = Buffer.alloc(Math.floor(rng.between(0, 2000)));
          for (let b = 0; b < bytes.length; b++) bytes[b] = Math.floor(rng.next() * 256);
          await send(kind, w, [frame(bytes)]);
          break;
        }
        case "mutated": {
          const body = encode(w, someCommands(w, 1 + Math.floor(rng.next() * 3)));
          const m = Buffer.from(body);
          const op = rng.next();
          let mutated: Buffer;
          if (op < 0.4 || m.length === 0) {
            for (let k = 0; k < 1 + rng.next() * 5 && m.length > 0; k++)
              m[Math.floor(rng.next() * m.length)] = Math.floor(rng.next() * 256);
            mutated = m;
          } else if (op < 0.7) mutated = m.subarray(0, Math.floor(rng.next() * m.length));
          else {
            const extra = Buffer.alloc(1 + Math.floor(rng.next() * 40));
            for (let b = 0; b < extra.length; b++) extra[b] = Math.floor(rng.next() * 256);
            const at = Math.floor(rng.next() * m.length);
            mutated = Buffer.concat([m.subarray(0, at), extra, m.subarray(at)]);
          }
          await send(kind, w, [frame(encode(w, [hello()])), frame(mutated)]);
          break;
        }
        case "commands": {
          const first: (ComputeCommand | StorageCommand)[] =
            w === "compute" && rng.next() < 0.7 ? [hello(), createInstance()] : [hello()];
          await send(kind, w, [
            frame(encode(w, first)),
            frame(encode(w, someCommands(w, 1 + Math.floor(rng.next() * 5)))),
          ]);
          break;
        }
        case "out-of-stage": {
          const [what, ww, cmds] = pick(outOfStage);
          const o = await send(
            kind,
            ww,
            cmds().map((x) => frame(encode(ww, [x]))),
          );
          if (!refused(o)) problem(`out-of-stage sequence accepted (${o}): ${what}`);
          break;
        }
        case "bad-frame": {
          const good = encode(w, [hello()]);
          // Each but the unknown flag must be refused: a frame the stream ends inside, a length
          // beyond any limit, the compressed flag without an encoding, a cut header, a request
          // without commands ("at least one command" in service.proto). Flag 0x80 is counted
          // only: connect-node reads it as gRPC-web's trailer flag and ends the stream.
          const variants: ReadonlyArray<readonly [string, Buffer]> = [
            ["length beyond the data", frame(good, { length: good.length + 1000 })],
            ["length 4 GiB", frame(good, { length: 0xffff_ffff })],
            ["flag 0x80", frame(good, { flag: 0x80 })],
            ["compressed flag, no encoding", frame(good, { compressed: true })],
            ["cut header", frame(good).subarray(0, 3)],
            ["no commands", frame(Buffer.alloc(0))],
          ];
          const [variant, bytes] = pick(variants);
          const o = await send(kind, w, [bytes], { variant });
          if (!refused(o) && variant !== "flag 0x80")
            problem(`a bad frame (${variant}) to ${w} was accepted (${o})`);
          break;
        }
        case "compressed": {
          if (bombMb > 0 && bombs === 0 && forced === "compressed") {
            bombs++;
            const bomb = gzipSync(Buffer.alloc(bombMb * 2 ** 20));
            const o = await send(kind, w, [frame(bomb, { compressed: true })], { gzip: true });
            log(
              `fuzz ${path}: a ${(bomb.length / 1024).toFixed(0)} KB gzip bomb (${bombMb} MB inflated) to ${w}: ${o}`,
            );
          } else {
            const o = await send(
              kind,
              w,
              [frame(gzipSync(encode(w, [hello()])), { compressed: true })],
              { gzip: true },
            );
            if (!refused(o)) problem(`a gzip-compressed hello to ${w} was accepted (${o})`);
          }
          break;
        }
        case "large": {
          const df = { ...indexedDataflow("fz-large"), debugName: "x".repeat(largeMb * 2 ** 20) };
          const o = await send(kind, "compute", [
            frame(
              encode("compute", [
                hello(),
                createInstance(),
                { kind: "createDataflow", dataflow: df },
              ]),
            ),
          ]);
          if (!refused(o)) problem(`a ${largeMb} MB message was accepted (${o}): no size limit`);
          break;
        }
        case "many-streams": {
          const streams = Array.from({ length: 100 }, () =>
            conns[w].stream(w === "compute" ? COMPUTE : STORAGE, [frame(encode(w, [hello()]))], {
              keepOpen: true,
              timeoutMs: 5000,
            }),
          );
          bump(report.frames, kind, streams.length);
          await new Promise((r) => setTimeout(r, 500));
          for (const s of streams) s.close();
          for (const s of streams) bump(report.outcomes, `${kind} → ${await s.outcome}`);
          break;
        }
      }
      report.rssMb.peak = Math.max(report.rssMb.peak, peakRssMb(pid) ?? 0);
      if (c.process.child.exitCode !== null || c.process.child.signalCode !== null) {
        problem(
          `clusterd exited (${c.process.child.exitCode ?? c.process.child.signalCode}) after case ${i} (${kind} to ${w}); stderr: ${c.process.stderr().slice(-600)}`,
        );
        return report;
      }
      if (i % 25 === 24)
        log(
          `fuzz ${path}: ${i + 1}/${opts.iterations} cases, ${((Date.now() - started) / 1000).toFixed(0)} s, RSS ${(rssMb(pid) ?? 0).toFixed(0)} MB (peak ${report.rssMb.peak.toFixed(0)})`,
        );
    }

    // Still healthy, and a proper session works.
    const health = await fetch(`${c.httpUrl}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (!health) problem("/health does not answer ok after the fuzzing");
    await properSession(urls, generation + 1n, problem);
    report.rssMb.peak = Math.max(report.rssMb.peak, peakRssMb(pid) ?? 0);
    report.rssMb.end = rssMb(pid) ?? 0;
    if (report.rssMb.peak - report.rssMb.start > maxGrowth)
      problem(
        `clusterd peak RSS ${report.rssMb.peak.toFixed(0)} MB, ${(report.rssMb.peak - report.rssMb.start).toFixed(0)} MB above its start (bound ${maxGrowth})`,
      );
    if (c.process.child.exitCode !== null || c.process.child.signalCode !== null)
      problem("clusterd exited during the final session");
    // Logged strings are truncated: the large message's debug name must not reach the log whole.
    const longest = Math.max(
      0,
      ...[...c.process.lines, ...c.process.stderr().split("\n")].map((l) => l.length),
    );
    if (longest > MAX_LOG_LINE)
      problem(
        `clusterd logged a ${(longest / 1024).toFixed(0)} KB line (logged strings not truncated)`,
      );
  } finally {
    for (const [text, n] of seen)
      report.problems.push(`${path}: ${text}${n > 1 ? ` (×${n})` : ""}`);
    conns.compute.close();
    conns.storage.close();
    c.process.child.kill("SIGKILL");
    await c.process.exited;
  }
  return report;
}

function createInstance(): ComputeCommand {
  return {
    kind: "createInstance",
    config: {
      logging: { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
    },
  };
}

/** Hello, replay (an ingestion and an indexed dataflow), a peek that answers rows. */
async function properSession(
  urls: Record<Workload, string>,
  generation: bigint,
  problem: (text: string) => void,
): Promise<void> {
  const s = storageDriver(urls.storage, generation);
  const d = computeDriver(urls.compute, generation);
  try {
    s.send([runIngestion("fz-final"), { kind: "initializationComplete" }, { kind: "allowWrites" }]);
    const p = peekAll(START_MS + 5n * TICK_MS);
    d.send([
      { kind: "createDataflow", dataflow: indexedDataflow("fz-final") },
      { kind: "schedule", id: indexedDataflow("fz-final").indexExports[0]?.id ?? "" },
      { kind: "initializationComplete" },
      p,
    ]);
    const answer = await d.next(
      (r): r is PeekAnswer => r.kind === "peekResponse" && r.uuid === p.peek.uuid,
      0,
      30_000,
    );
    if (answer.response.kind !== "rows" || answer.response.rows.length === 0)
      problem(`the final session's peek answered ${JSON.stringify(answer.response).slice(0, 200)}`);
  } catch (e) {
    problem(`the final session failed: ${(e as Error).message}`);
  } finally {
    await Promise.race([
      Promise.all([s.close(), d.close()]),
      new Promise((r) => setTimeout(r, 2000)),
    ]);
  }
}

type PeekAnswer = Extract<ComputeResponse, { kind: "peekResponse" }>;
