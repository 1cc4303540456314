/**
 * A drop is a write fence: `droppedId` is answered only once this worker's writer of the dropped
 * shard has stopped and its append in flight (if any) has settled, so the shard's upper never
 * moves after the controller hears `droppedId`. (An append that was in flight at the drop used
 * to land after `droppedId`: the flaky "drops an ingestion once, stops writing" runtime test,
 * upper 80 → 100 after the drop under load.) One worker, real persist, one gated append.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPersist, type PersistClient, type Shard } from "@mzts/persist";
import type { StorageCommand, StorageResponse } from "@mzts/protocol";
import { Frontier } from "@mzts/repr";
import { pino } from "pino";
import { afterEach, beforeEach, expect, it } from "vitest";
import { SLOT, StorageCounters } from "./metrics.js";
import { StorageState } from "./storage-state.js";
import { DEFAULT_STATE_OPTIONS } from "./storage-state-deps.js";

let dir: string;
let persist: PersistClient;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "mzts-storage-drop-"));
  persist = await createPersist({ dataDir: dir });
});
afterEach(async () => {
  await persist.close();
  rmSync(dir, { recursive: true, force: true });
});

const START = 1_700_000_000_000n;

/** A persist client whose appends wait for `release()` while `hold` is set. */
function gatedPersist() {
  const gate = { hold: false, waiting: 0, release: () => {} };
  let released = Promise.resolve();
  const arm = () => {
    released = new Promise<void>((r) => {
      gate.release = () => {
        gate.hold = false;
        r();
      };
    });
    gate.hold = true;
  };
  const client = {
    async openShard(id: string, o?: { create?: boolean }): Promise<Shard> {
      const shard = await persist.openShard(id, o);
      const append = shard.compareAndAppend.bind(shard);
      shard.compareAndAppend = async (...args) => {
        if (gate.hold) {
          gate.waiting++;
          await released;
        }
        return append(...args);
      };
      return shard;
    },
  } as unknown as PersistClient;
  return { client, gate, arm };
}

async function until(what: string, f: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

it("answers droppedId only after the append in flight at the drop has settled", async () => {
  const { client, gate, arm } = gatedPersist();
  const responses: StorageResponse[] = [];
  const counters = new StorageCounters();
  const state = new StorageState({
    index: 0,
    peers: 1,
    respond: (r) => responses.push(r),
    send: () => {
      throw new Error("one worker sends nothing");
    },
    requestStep: () => {},
    openPersist: async () => client,
    counters,
    logger: pino({ level: "silent" }),
    nowMs: () => Date.now(),
    options: { ...DEFAULT_STATE_OPTIONS, ticksPerBatch: 2, maxTicksInFlight: 4 },
  });
  const run: StorageCommand = {
    kind: "runIngestion",
    id: "u1",
    description: {
      sourceExports: [{ id: "u2", shardId: "drop-s", outputIndex: 0, name: "counter" }],
      connection: {
        kind: "loadGenerator",
        generator: { kind: "counter", maxCardinality: 5n },
        seed: 0n,
        tickIntervalMs: 10,
        deterministic: { startTimeMs: START },
      },
    },
  };
  const prepared = { ...run, resume: { startMs: START, uppers: {} } } as StorageCommand;
  let seq = 0;
  const apply = (cmd: StorageCommand) => {
    seq++;
    for (const a of state.applyCommand(cmd)) {
      if (a.kind === "render") state.render(seq, a.id, a.description, a.resume);
      else if (a.kind === "drop") state.dropDataflow(seq, a.id);
      else state.dropExport(seq, a.ingestionId, a.exportId);
    }
  };
  apply(prepared);
  apply({ kind: "allowWrites" });
  const shard = await persist.openShard("drop-s", { create: true });
  // Let a few appends land, then hold the next one in flight.
  await until("a few appends", () => {
    state.step();
    return counters.get(SLOT.appendsOk) >= 2n;
  });
  arm();
  await until("an append held in flight", () => {
    state.step();
    return gate.waiting > 0;
  });
  const before = await shard.upper();
  apply({ kind: "allowCompaction", id: "u1", frontier: Frontier.EMPTY });
  const dropped = () => responses.filter((r) => r.kind === "droppedId").map((r) => r.id);
  // The append is still in flight: the drop is not answered yet.
  expect(dropped()).toEqual([]);
  gate.release();
  await until("droppedId for both ids", () => dropped().length === 2);
  expect(dropped()).toEqual(["u2", "u1"]);
  // The held append landed before the answer; nothing moves the upper after it.
  const atAnswer = await shard.upper();
  expect(Frontier.lessThan(before, atAnswer)).toBe(true);
  for (let i = 0; i < 5; i++) state.step();
  await new Promise((r) => setTimeout(r, 50));
  expect(await shard.upper()).toBe(atAnswer);
  state.close();
});
