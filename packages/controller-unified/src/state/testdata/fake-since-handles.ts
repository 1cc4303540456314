/**
 * Tests only: an in-memory `SinceHandleIo` — one since handle per shard, with the calls it got,
 * and a switch that makes the next downgrades fail (a persist outage) — for the unified driver.
 * Like persist, a downgrade never moves a since back.
 */
import { Frontier } from "@mzts/repr";
import type { SinceHandleIo } from "../since-handle-io.js";

/** The fake and what it recorded. */
export interface FakeSinceHandles extends SinceHandleIo {
  /** Shard → its handle's durable since (absent: never opened; `expired`: expired). */
  readonly sinces: Map<string, Frontier | "expired">;
  /** Every call, in order (`open s`, `downgrade s 8`, `expire s`). */
  readonly calls: string[];
  /** While true, downgrades reject (a persist outage). */
  failing: boolean;
}

/** A fake whose shards start at `initial` (shard → since; default 0). */
export function fakeSinceHandles(
  initial: ReadonlyMap<string, Frontier> = new Map(),
): FakeSinceHandles {
  const sinces = new Map<string, Frontier | "expired">();
  const calls: string[] = [];
  const fake: FakeSinceHandles = {
    sinces,
    calls,
    failing: false,
    async open(shardId) {
      calls.push(`open ${shardId}`);
      const known = sinces.get(shardId);
      const since =
        known === undefined || known === "expired" ? (initial.get(shardId) ?? 0n) : known;
      sinces.set(shardId, since);
      return since;
    },
    async downgrade(shardId, since) {
      calls.push(`downgrade ${shardId} ${Frontier.format(since)}`);
      if (fake.failing) throw new Error("persist is unavailable (fake)");
      const known = sinces.get(shardId);
      if (known === undefined || known === "expired") throw new Error(`no handle on ${shardId}`);
      const next = Frontier.join(known, since);
      sinces.set(shardId, next);
      return next;
    },
    async expire(shardId) {
      calls.push(`expire ${shardId}`);
      sinces.set(shardId, "expired");
    },
  };
  return fake;
}
