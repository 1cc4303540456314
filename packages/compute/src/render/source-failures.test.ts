/**
 * `SourceFailures` alone (one worker's side of the relay, fake dataflows): marking a dataflow
 * stalled stops its source readers and ends its subscribes with the stall's error, transitively
 * through the dataflows importing its indexes; a failure another worker reports before this one
 * built the dataflow waits for `built` and is then let go; one for a dropped dataflow is not
 * kept (`pendingEarly`: nothing is left behind).
 */
import type { ExchangeMesh } from "@mzts/mz-cluster/runtime";
import type { DataflowDescription, SubscribeResponse } from "@mzts/protocol";
import { describe, expect, it } from "vitest";
import type { DataflowInstance } from "./dataflow.js";
import { SOURCE_FAILURE_CHANNEL, SourceFailures, stalledReason } from "./source-failures.js";
import type { SourceImportFailure } from "./source-import.js";

const FAILURE: SourceImportFailure = {
  source: "u1",
  shard: "s-1",
  worker: 1,
  kind: "sinceViolation",
  message: "source u1 (shard s-1) stopped on worker 1: since violation; drop and recreate",
};

/** What a fake dataflow records of the stall. */
interface Fake {
  readonly df: DataflowInstance;
  readonly emitted: SubscribeResponse[];
  /** Stops of its healthy reader / of its reader that already failed. */
  stopped: number;
  failedStopped: number;
}

/** A fake dataflow `seq` exporting index `exports` and a subscribe, importing `imports`. */
function fake(seq: number, exports: string[], imports: string[] = []): Fake {
  const f: Fake = {
    df: undefined as unknown as DataflowInstance,
    emitted: [],
    stopped: 0,
    failedStopped: 0,
  };
  const desc = { indexImports: imports.map((id) => ({ id, arity: 1, key: [0] })) };
  let done = false;
  const sink = {
    fail(message: string) {
      if (done) return false;
      done = true;
      f.emitted.push({ kind: "batch", lower: 0n, upper: null, result: { kind: "error", message } });
      return true;
    },
  };
  const reader = {
    failure: undefined,
    stop() {
      f.stopped++;
      return Promise.resolve();
    },
  };
  // The reader that failed (it reads nothing more; what it queued is still pumped).
  const failed = {
    failure: FAILURE,
    stop() {
      f.failedStopped++;
      return Promise.resolve();
    },
  };
  const df = {
    seq,
    desc: desc as unknown as DataflowDescription,
    indexes: new Map(exports.map((id) => [id, {}])),
    subscribes: new Map([[`sub-${seq}`, sink]]),
    sources: [reader, failed],
    failure: undefined,
  };
  (f as { df: DataflowInstance }).df = df as unknown as DataflowInstance;
  return f;
}

/** One worker (index 0 of 2) with its dataflows by seq; `deliver` plays a peer's relay. */
function worker() {
  const live = new Map<number, DataflowInstance>();
  let nextSeq = 0;
  let handler: ((payload: unknown, from: number) => void) | undefined;
  const sent: unknown[] = [];
  const mesh: ExchangeMesh = {
    index: 0,
    peers: 2,
    send: (_to, _channel, payload) => sent.push(payload),
    on: (channel, h) => {
      if (channel === SOURCE_FAILURE_CHANNEL) handler = h;
    },
  };
  const failures = new SourceFailures({
    mesh,
    dataflow: (seq) => live.get(seq),
    exporter: (id) => [...live.values()].find((d) => d.indexes.has(id)),
    dataflows: () => live.values(),
    nextSeq: () => nextSeq,
    requestStep: () => {},
  });
  return {
    failures,
    sent,
    build(f: Fake) {
      nextSeq = f.df.seq + 1;
      live.set(f.df.seq, f.df);
      failures.built(f.df);
    },
    drop(f: Fake) {
      live.delete(f.df.seq);
    },
    deliver(seq: number) {
      handler?.([seq, FAILURE], 1);
    },
  };
}

const errorEnd = { kind: "batch", upper: null, result: { kind: "error" } };

describe("SourceFailures", () => {
  it("a stall stops the readers and ends the subscribes of the dataflow and its importers", () => {
    const w = worker();
    const up = fake(0, ["ix"]);
    const down = fake(1, ["ix2"], ["ix"]);
    const downer = fake(2, [], ["ix2"]);
    const unrelated = fake(3, ["other"]);
    for (const f of [up, down, downer, unrelated]) w.build(f);
    w.failures.reported(up.df, FAILURE);
    expect(w.sent).toEqual([[0, FAILURE]]);
    for (const f of [up, down, downer]) {
      expect(f.df.failure).toBe(FAILURE);
      expect(f.stopped).toBe(1);
      expect(f.failedStopped).toBe(0);
      expect(f.emitted).toEqual([
        { ...errorEnd, lower: 0n, result: { kind: "error", message: stalledReason(FAILURE) } },
      ]);
    }
    expect(unrelated.df.failure).toBeUndefined();
    expect(unrelated.stopped).toBe(0);
    expect(unrelated.emitted).toEqual([]);
    // A second report (another source of the same dataflow) changes nothing.
    w.deliver(0);
    expect(up.emitted).toHaveLength(1);
    expect(up.stopped).toBe(1);
  });

  it("a dataflow built over a stalled index ends its subscribe at once", () => {
    const w = worker();
    const up = fake(0, ["ix"]);
    w.build(up);
    w.deliver(0);
    const late = fake(1, [], ["ix"]);
    w.build(late);
    expect(late.df.failure).toBe(FAILURE);
    expect(late.stopped).toBe(1);
    expect(late.emitted).toMatchObject([errorEnd]);
  });

  it("an early failure waits for the build and is then let go; one for a dropped dataflow is not kept", () => {
    const w = worker();
    const first = fake(0, ["a"]);
    w.build(first);
    w.drop(first);
    w.deliver(0);
    expect(w.failures.pendingEarly).toBe(0);
    w.deliver(1);
    expect(w.failures.pendingEarly).toBe(1);
    const second = fake(1, ["b"]);
    w.build(second);
    expect(w.failures.pendingEarly).toBe(0);
    expect(second.df.failure).toBe(FAILURE);
    expect(second.emitted).toMatchObject([errorEnd]);
  });
});
