/**
 * environmentd's per-second idle work at N indexes, in process, two (or more) builds in
 * alternating rounds (issue 16) — the pieces the idle profile points to, each on the build's own
 * `dist`:
 * - `decode`: one stream message of N `frontiers` responses (what an idle replica sends in a
 *   second) decoded as the controllers decode it (`computeResponsesFromFrames`);
 * - `legacy`: the legacy compute collections absorbing them (`InstanceCollections.absorbFrontiers`:
 *   write frontier, implied hold, since, the `allowCompaction` pushed into the build's
 *   `ComputeCommandHistory`), then the legacy import-hold upkeep moving each dataflow's hold on
 *   the source (storage-client `PersistReadHolds`-like: a `ReadHolds` multiset of N holds);
 * - `encode`: the `allowCompaction` commands the legacy piece sent, encoded into one stream
 *   message (`computeRequestFrames`, as each replica task writes them);
 * - `unified`: the unified path's source row: N `dependant:` holds on one `ReadHoldSet`, each
 *   index's advancing and the since read after each (`SincePropagation.#followSince` → `settle`).
 * Reports per build and piece the p50 CPU time of one round (one simulated second) and the ratio
 * to the first build.
 *
 * Usage: tsx bench/environment-frontiers.bench.ts [--indexes 1000] [--rounds 30]
 *        LABEL=/path/to/worktree ...
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { pino } from "pino";

const args = process.argv.slice(2);
let indexes = 1000;
let rounds = 30;
const builds: { label: string; root: string }[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === "--indexes") indexes = Number(args[++i]);
  else if (a === "--rounds") rounds = Number(args[++i]);
  else if (a.includes("=")) {
    const [label, root] = a.split("=") as [string, string];
    builds.push({ label, root });
  } else
    throw new Error(
      "usage: tsx bench/environment-frontiers.bench.ts [--indexes N] [--rounds R] LABEL=ROOT ...",
    );
}
const WINDOW = 1000n;
const load = () =>
  loadavg()
    .map((v) => v.toFixed(1))
    .join(" / ");
const p50 = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// biome-ignore lint/suspicious/noExplicitAny: each build's own dist, loaded by path
type Any = any;

interface Build {
  readonly label: string;
  readonly protocol: Any;
  readonly collections: Any;
  readonly holds: Any;
  readonly unified: Any;
  readonly ms: Record<"decode" | "legacy" | "encode" | "unified", number[]>;
}

async function load1(label: string, root: string): Promise<Build> {
  const pkg = (p: string, f: string) => import(join(root, "packages", p, "dist", f));
  return {
    label,
    protocol: await pkg("protocol", "index.js"),
    collections: await pkg("compute-client", "collections.js"),
    holds: await pkg("compute-client", "read-holds.js"),
    unified: await pkg("controller-unified", "state/read-holds.js"),
    ms: { decode: [], legacy: [], encode: [], unified: [] },
  };
}

const cpu = (f: () => void): number => {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};

const ids = Array.from({ length: indexes }, (_, i) => `u${i + 10}`);

/** Per build: the state the rounds advance. */
function setup(b: Build) {
  const P = b.protocol;
  const history = new P.ComputeCommandHistory();
  const sent: Any[] = [];
  const log = pino({ level: "silent" });
  const coll = new b.collections.InstanceCollections({
    log,
    compactionWindowMs: WINDOW,
    replicaIds: () => ["r1"],
    broadcast: (cmds: readonly Any[]) => {
      for (const c of cmds) {
        history.push(c);
        sent.push(c);
      }
    },
    onCollection: () => undefined,
    onGaugesChanged: () => undefined,
  });
  coll.create(
    ids.map((id) => ({ id, kind: "index", arity: 1 })),
    1_000_000n,
  );
  const source = new b.holds.ReadHolds();
  const importAt = ids.map(() => 1_000_000n);
  for (const f of importAt) source.acquire(f);
  const row = new b.unified.ReadHoldSet();
  const holders = ids.map((id) => b.unified.Holder.dependant(id));
  for (const h of holders) row.set(h, 1_000_000n);
  return { P, coll, source, importAt, row, holders, sent };
}

const sides = await Promise.all(builds.map((b) => load1(b.label, b.root)));
const states = sides.map(setup);
// The wire message is built once per second with the first build's encoder (same bytes).
const P0 = sides[0]!.protocol;
const message = (t: bigint) => {
  const responses = ids.map((id) =>
    P0.encodeComputeResponse({
      kind: "frontiers",
      id,
      frontiers: { write: t, input: t, output: t },
    }),
  );
  return { responses };
};

let t = 1_000_000n;
for (let r = 0; r < rounds + 3; r++) {
  t += 1000n;
  const msg = message(t);
  const order = r % 2 === 0 ? sides.map((_, i) => i) : sides.map((_, i) => sides.length - 1 - i);
  for (const i of order) {
    const b = sides[i]!;
    const s = states[i]!;
    let responses: Any[] = [];
    const dec = cpu(() => {
      responses = s.P.computeResponsesFromFrames(msg);
    });
    const leg = cpu(() => {
      for (const resp of responses) s.coll.absorbFrontiers("r1", resp);
      for (let k = 0; k < ids.length; k++) {
        const since = s.coll.frontiers(ids[k]).since;
        if (since !== null && since > s.importAt[k]!) {
          s.source.downgrade(s.importAt[k], since);
          s.importAt[k] = since;
        }
      }
      s.source.since();
    });
    const enc = cpu(() => {
      s.P.computeRequestFrames(s.sent);
    });
    s.sent.length = 0;
    const uni = cpu(() => {
      for (const h of s.holders) {
        s.row.set(h, t - WINDOW);
        s.row.since();
      }
    });
    if (r >= 3) {
      b.ms.decode.push(dec);
      b.ms.legacy.push(leg);
      b.ms.encode.push(enc);
      b.ms.unified.push(uni);
    }
  }
}
console.log(`\nidle work of one second at ${indexes} indexes, ${rounds} rounds, load ${load()}`);
console.log("| build | piece | CPU p50 ms | ÷ first |");
console.log("| --- | --- | --- | --- |");
for (const piece of ["decode", "legacy", "encode", "unified"] as const)
  for (const b of sides)
    console.log(
      `| ${b.label} | ${piece} | ${p50(b.ms[piece]).toFixed(2)} | ${(p50(b.ms[piece]) / p50(sides[0]!.ms[piece])).toFixed(2)} |`,
    );
