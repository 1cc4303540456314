/**
 * Source readers' since handles on a running replica (both paths, W = 2, real worker threads and
 * persist): each worker holds the shard with one handle, `compute:<replicaId>:w<worker>:a` (or
 * `…:b` after a re-registration below it), and moves it with the data read; a dataflow replaced
 * by reconciliation is held by the same worker handles (the old readers' late expiry must not
 * unregister them); dropping the dataflow or closing the replica expires them. A "controller" handle holds the shard at 0, as environmentd's
 * read holds do for the replayed as-of.
 */
import { createPersist, type Shard } from "@mzts/persist";
import type { ComputeCommand, DataflowDescription } from "@mzts/protocol";
import { Frontier } from "@mzts/repr";
import { afterEach, describe, expect, it } from "vitest";
import { dataflow, Replica, removeDir, tempDir, until } from "./harness.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Each worker's hold of the shard, without its generation suffix (`:a`/`:b`). */
const IDS = ["compute:r1:w0", "compute:r1:w1"];

function src(debugName: string): DataflowDescription {
  return dataflow({
    debugName,
    asOf: 0n,
    sourceImports: [{ id: "u1", shardId: "nums", arity: 1, upper: 0n }],
    objectsToBuild: [{ id: "u2", plan: { kind: "get", id: "u1", arity: 1 } }],
    indexExports: [{ id: "u3", objectId: "u2", key: [0] }],
  });
}

function history(df: DataflowDescription): ComputeCommand[] {
  return [
    {
      kind: "createInstance",
      config: {
        logging: { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
      },
    },
    { kind: "createDataflow", dataflow: df },
    { kind: "initializationComplete" },
  ];
}

/**
 * The replica's registrations (the controller's left out) and their sinces, as JSON, each named
 * without its generation suffix (two of one worker would collide: the JSON then differs).
 */
async function readers(shard: Shard): Promise<string> {
  const out: Record<string, string | null> = {};
  const all = (await shard.info()).readers;
  for (const id of Object.keys(all).sort()) {
    if (id === "controller") continue;
    const name = id.replace(/:[ab]$/, "");
    out[name in out ? id : name] = Frontier.toJSON(all[id]!.since);
  }
  return JSON.stringify(out);
}

async function append(shard: Shard, from: bigint, to: bigint): Promise<void> {
  await shard.compareAndAppend([[[from], from, 1]], from, to);
}

describe("source readers' since handles", () => {
  for (const path of ["unified", "legacy"] as const) {
    it(`${path}: registered per worker, follow the data, survive replacement, expire on drop and close`, async () => {
      const dir = await tempDir();
      cleanups.push(() => removeDir(dir));
      const persist = await createPersist({ dataDir: dir });
      cleanups.push(() => persist.close());
      const nums = await persist.openShard("nums", { create: true });
      await append(nums, 0n, 3n);
      await nums.openSinceHandle("controller");
      const rep = new Replica(path, 2, dir, { replicaId: "r1", sinceDowngradeIntervalMs: 10 });
      cleanups.push(() => rep.close());
      await rep.rt.ready;
      const at = (t: bigint) => JSON.stringify(Object.fromEntries(IDS.map((id) => [id, `${t}`])));
      const settled = async (t: bigint) => {
        await until(() => rep.frontier("u3", "write") === t, `u3 at ${t}`);
        await until(async () => (await readers(nums)) === at(t), `handles at ${t}`);
      };

      rep.connect("n1");
      rep.send(...history(src("first")));
      await settled(3n);
      await append(nums, 3n, 5n);
      await settled(5n);

      // Replaced by reconciliation (a changed description, same export): still held, one handle
      // per worker.
      rep.connect("n2");
      rep.send(...history(src("second")));
      await until(() => rep.metrics.totals().replaced === 1, "the dataflow replaced");
      await new Promise((r) => setTimeout(r, 100));
      await append(nums, 5n, 8n);
      await settled(8n);

      // Dropped: the handles are expired.
      rep.send({ kind: "allowCompaction", id: "u3", frontier: null });
      await until(async () => (await readers(nums)) === "{}", "handles expired");

      // Created again, then the replica closes gracefully: expired too.
      rep.connect("n3");
      rep.send(...history(src("third")));
      await settled(8n);
      await rep.close();
      expect(await readers(nums)).toBe("{}");
      expect(await nums.since()).toBe(0n);
    }, 30_000);
  }
});
