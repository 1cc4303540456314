/**
 * The replica's whole peek path below the HTTP/2 stream, as clusterd runs it on the unified path
 * with W = 2 (issue 16's one unexplained 60 s unanswered peek of the phase-1 bench): framed
 * commands decoded as the server decodes them (`computeRequestFromFrames`, so peeks are
 * remembered with their bytes), the runtime sessions (`createRuntimeSessions`: a turn's first
 * message at once, the later ones gathered for the turn's end), the main thread's sequencer
 * forwarding peeks to the workers as one buffer per run (`commandFrame` = `forwardedFrame`), the
 * real compute workers answering in their steps, the response batching and the merge of both
 * workers' parts (`ComputeResponseMerger`, with its overdue-peek guard). A controller sends peeks
 * of a ready 100-row constant index one message at a time and waits for each answer before the
 * next (as the bench does), now and then several messages in one turn; every peek must be
 * answered (each within 20 s), no answer may come from an older connection, and the guard must
 * report nothing.
 */
import {
  type ControllerConnection,
  createClusterRuntime,
  createRuntimeSessions,
} from "@mzts/mz-cluster";
import {
  type ComputeCommand,
  type ComputeResponse,
  computeCommandFrame,
  computeRequestFromFrames,
  forwardedFrame,
} from "@mzts/protocol";
import { afterEach, describe, expect, it } from "vitest";
import {
  ComputeMetrics,
  computeMergerFactory,
  createComputeSpec,
  type OverduePeeks,
} from "../dist/index.js";
import { dataflow, peekOf, removeDir, START_COMMANDS, tempDir } from "./harness.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ROWS = Array.from(
  { length: 100 },
  (_, i) => [[BigInt(i), `row ${i}`], 1] as [readonly [bigint, string], number],
);

describe("sequential peeks through the replica's whole path (unified, W = 2)", () => {
  it("answers every peek, one message at a time and in bursts of a turn", async () => {
    const dir = await tempDir();
    cleanups.push(() => removeDir(dir));
    const rt = createClusterRuntime<ComputeCommand, ComputeResponse>(createComputeSpec(), {
      workers: 2,
      config: { dataDir: dir, pollIntervalMs: 10 },
      commandFrame: (c) => forwardedFrame(c),
    });
    cleanups.push(() => rt.close());
    await rt.ready;
    const overdue: OverduePeeks[] = [];
    const open = createRuntimeSessions(
      rt,
      computeMergerFactory(new ComputeMetrics(), { onOverdue: (p) => overdue.push(p) }),
    );
    const session = open({ nonce: "n1", end: () => {} } as unknown as ControllerConnection);
    const answered = new Set<string>();
    let wake = () => {};
    session.onResponses((rs) => {
      for (const r of rs) if (r.kind === "peekResponse") answered.add(r.uuid);
      wake();
    });
    let forwarded = 0;
    /** One stream message, decoded from its frames as the replica's server decodes it. */
    const message = (cmds: readonly ComputeCommand[]) => {
      const decoded = computeRequestFromFrames(cmds.map(computeCommandFrame));
      for (const c of decoded) if (forwardedFrame(c) !== undefined) forwarded++;
      session.commands(decoded);
    };
    const waitFor = (uuids: readonly string[]) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => {
          const missing = uuids.filter((u) => !answered.has(u));
          reject(new Error(`peeks unanswered after 20 s: ${missing.join(", ")}`));
        }, 20_000);
        wake = () => {
          if (uuids.every((u) => answered.has(u))) {
            clearTimeout(t);
            resolve();
          }
        };
        wake();
      });

    message([
      START_COMMANDS[0]!,
      {
        kind: "createDataflow",
        dataflow: dataflow({
          debugName: "constant",
          objectsToBuild: [{ id: "u1", plan: { kind: "constant", rows: ROWS, arity: 2 } }],
          indexExports: [{ id: "u2", objectId: "u1", key: [0] }],
          asOf: 0n,
        }),
      },
      START_COMMANDS[1]!,
    ]);
    const peek = () => peekOf("u2", 2, 0n, { literalConstraints: [[7n]] });
    const N = 1200;
    let peeks = 0;
    for (let i = 0; i < N; i++) {
      // Every 7th round: three messages in one turn (the first goes at once, the others are
      // gathered for the turn's end), else one peek per message.
      const burst = i % 7 === 3 ? [[peek()], [peek()], [peek(), peek()]] : [[peek()]];
      for (const m of burst) message(m.map((p) => ({ kind: "peek", peek: p })));
      const uuids = burst.flat().map((p) => p.uuid);
      peeks += uuids.length;
      await waitFor(uuids);
    }
    expect(answered.size).toBe(peeks);
    // Every peek crossed to the workers as its bytes.
    expect(forwarded).toBe(peeks);
    expect(rt.staleResponses).toBe(0);
    expect(overdue).toEqual([]);
    session.close(undefined);
  }, 120_000);
});
