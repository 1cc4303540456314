import { randomUUID } from "node:crypto";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type ComputeCommand,
  computeRequestToProto,
  computeResponsesFromProto,
  createHello,
  signHello,
} from "@mzts/protocol";
import { ComputeService } from "@mzts/protocol/wire";
import { stopAll } from "../src/harness/processes.js";
import { withBenchServer, withClusterd } from "./bench-server.js";
import { constantIndex, INDEX, keyedPeek } from "./constant-index.js";
import { processCpuUs } from "./proc-cpu.js";
import { rawH2Bidi } from "./raw-h2-bidi.js";
import { emitResult } from "./results.js";

const args = process.argv.slice(2);
if (args.includes("--help")) {
  process.stdout.write(
    "usage: tsx bench/commands.bench.ts [--runs N] [--workers W]\nenv: BENCH_CMD_N (commands per mix and row), BENCH_BATCH (commands per stream message), BENCH_INFLIGHT (messages unanswered), BENCH_ROWS (comma-separated: echo,hop,legacy,unified)\n",
  );
  process.exit(0);
}
const argNum = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`${name} needs a positive integer\n`);
    process.exit(2);
  }
  return v;
};
const RUNS = argNum("--runs", 3);
const W = argNum("--workers", 2);
const CMD_N = Number(process.env.BENCH_CMD_N ?? 200_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1024);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 4);
const GOAL = 100_000;
const ROW_NAMES = ["echo", "hop", "legacy", "unified"] as const;
type RowName = (typeof ROW_NAMES)[number];
const ONLY = (process.env.BENCH_ROWS?.split(",") ?? [...ROW_NAMES]) as RowName[];
const MIXES = ["compaction", "peeks"] as const;
type Mix = (typeof MIXES)[number];

/**
 * The compaction mix's receipt peeks read here: past every since the mix allows (messages in
 * flight compact past the previous ones' sinces, as a controller holding no read hold would),
 * and readable, since a constant collection is complete.
 */
const RECEIPT_TIME = 1n << 60n;
const peek = (timestamp: bigint) => keyedPeek(randomUUID(), timestamp);

interface Measure {
  readonly perSec: number;
  readonly cpuUs: number;
}

/** The compute stream's request message holding `cmds`, encoded. */
const encode = (cmds: ComputeCommand[]): Uint8Array =>
  toBinary(ComputeService.method.control.input, computeRequestToProto(cmds));

/**
 * Drives one server through both mixes on a raw stream whose messages are encoded before the clock
 * starts (the bench's client then costs the server's cores almost nothing); `setup` creates the
 * index (none for the echo rows).
 */
async function drive(
  url: string,
  secret: Uint8Array | null,
  setup: ComputeCommand[],
  pid: number | undefined,
): Promise<Record<Mix, Measure>> {
  let answered = 0;
  let errors = 0;
  let firstError = "";
  let wake: (() => void) | undefined;
  const stream = rawH2Bidi(url, "/mz.compute.v1.ComputeService/Control", (bytes) => {
    for (const r of computeResponsesFromProto(
      fromBinary(ComputeService.method.control.output, bytes),
    )) {
      if (r.kind !== "peekResponse") continue;
      answered++;
      if (r.response.kind === "error" && errors++ === 0) firstError = JSON.stringify(r);
    }
    wake?.();
  });
  const waitAnswered = async (n: number, what: string) => {
    const deadline = Date.now() + 120_000;
    while (answered < n) {
      if (Date.now() > deadline) throw new Error(`${what}: ${answered} of ${n} answers in 120 s`);
      await Promise.race([
        new Promise<void>((r) => {
          wake = r;
        }),
        stream.ended.then(() => {
          throw new Error(`${what}: the server ended the stream`);
        }),
        new Promise((r) => setTimeout(r, 1000)),
      ]);
    }
  };
  try {
    const hello = createHello(1n);
    await stream.write(
      encode([
        { kind: "hello", hello: secret === null ? hello : signHello(hello, secret, "compute") },
        {
          kind: "createInstance",
          config: {
            logging: { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
          },
        },
        ...setup,
        { kind: "initializationComplete" },
      ]),
    );
    // Warm-up (also waits for the index to be readable).
    for (let i = 0; i < 100; i++) {
      await stream.write(encode([peek(0n)]));
      await waitAnswered(i + 1, "warm-up answers");
    }
    let since = 0n;
    const out = {} as Record<Mix, Measure>;
    for (const mix of MIXES) {
      const messages: Uint8Array[] = [];
      for (let sent = 0; sent < CMD_N; sent += BATCH) {
        const batch: ComputeCommand[] = [];
        if (mix === "compaction") {
          for (let i = 1; i < BATCH; i++)
            batch.push({ kind: "allowCompaction", id: INDEX, frontier: ++since });
          batch.push(peek(RECEIPT_TIME));
        } else {
          for (let i = 0; i < BATCH; i++) batch.push(peek(since));
        }
        messages.push(encode(batch));
      }
      const receipts = mix === "compaction" ? 1 : BATCH;
      const base = answered;
      const cpu0 = processCpuUs(pid);
      const t0 = process.hrtime.bigint();
      for (let m = 0; m < messages.length; m++) {
        if (m >= INFLIGHT) await waitAnswered(base + (m - INFLIGHT + 1) * receipts, "receipts");
        await stream.write(messages[m]!);
      }
      await waitAnswered(base + messages.length * receipts, `all ${mix} receipts`);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const n = messages.length * BATCH;
      out[mix] = { perSec: n / secs, cpuUs: (processCpuUs(pid) - cpu0) / n };
      if (errors > 0)
        throw new Error(`${errors} peeks answered with an error, first: ${firstError}`);
    }
    return out;
  } finally {
    stream.close();
  }
}

async function echoRun(mode: "echo" | "hop"): Promise<Record<Mix, Measure>> {
  return withBenchServer(mode, W, (url, pid) => drive(url, null, [], pid));
}

async function clusterdRun(unified: boolean): Promise<Record<Mix, Measure>> {
  return withClusterd({ workers: W, flags: { servers: unified } }, (c) =>
    drive(
      c.computeUrl,
      c.secret,
      [{ kind: "createDataflow", dataflow: constantIndex }],
      c.process.child.pid,
    ),
  );
}

const RUNNERS: Record<RowName, () => Promise<Record<Mix, Measure>>> = {
  echo: () => echoRun("echo"),
  hop: () => echoRun("hop"),
  legacy: () => clusterdRun(false),
  unified: () => clusterdRun(true),
};
const LABELS: Record<RowName, string> = {
  echo: "bare Connect echo (transport baseline)",
  hop: `thread-hop echo, W=${W} threads`,
  legacy: `clusterd W=${W}, legacy (flag off)`,
  unified: `clusterd W=${W}, unified (flag on)`,
};

const results = new Map<RowName, Array<Record<Mix, Measure>>>(ONLY.map((r) => [r, []]));
try {
  for (let run = 0; run < RUNS; run++) {
    for (let k = 0; k < ONLY.length; k++) {
      const name = ONLY[(run + k) % ONLY.length]!;
      process.stderr.write(`run ${run + 1}/${RUNS}: ${name}…\n`);
      results.get(name)!.push(await RUNNERS[name]());
    }
  }
} finally {
  await stopAll();
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const med = (name: RowName, mix: Mix, f: keyof Measure) =>
  median(results.get(name)!.map((r) => r[mix][f]));
const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : "—");
process.stdout.write(
  `\n## Commands per second, ${BATCH} per stream message, ${INFLIGHT} messages in flight (W=${W}, medians of ${RUNS}; goal ≥ ${GOAL.toLocaleString("en-US")}/s)\n\n`,
);
process.stdout.write(
  "| row | allowCompaction mix: commands/s | vs echo | server CPU µs/command | keyed peeks: commands/s | vs echo | server CPU µs/command |\n|---|---:|---:|---:|---:|---:|---:|\n",
);
for (const name of ONLY) {
  const cells = MIXES.flatMap((mix) => {
    const v = med(name, mix, "perSec");
    const e = ONLY.includes("echo") ? med("echo", mix, "perSec") : Number.NaN;
    return [v.toFixed(0), ratio(v / e), med(name, mix, "cpuUs").toFixed(2)];
  });
  process.stdout.write(`| ${LABELS[name]} | ${cells.join(" | ")} |\n`);
}
for (const name of ONLY) {
  for (const mix of MIXES) {
    const clusterd = name === "legacy" || name === "unified";
    emitResult({
      bench: "commands",
      figure: `${name} ${mix} commands/s`,
      value: med(name, mix, "perSec"),
      unit: "/s",
      better: "higher",
      tracked: clusterd,
      ...(clusterd ? {} : { baseline: true }),
    });
  }
}
