/**
 * Entry point of every worker thread of the unified runtime.
 *
 * 1. Join the mesh; load the workload's `WorkerSpec` from `init.specModule` and build its worker.
 * 2. Run a `Sequencer` over the `cluster:seq` channel as index `worker + 1`: its leader (index 0)
 *    is the main thread (`runtime.ts`), which numbers the controller's commands and sends them to
 *    every worker; a worker's internal commands go to the main thread to be numbered. Every
 *    worker applies the sequenced items in order.
 * 3. A connection item switches the worker's nonce (responses are tagged with it) and calls
 *    `onConnection`; a command item calls `apply`.
 * 4. After applying, and whenever asked, step the workload until it reports no more work,
 *    yielding to the event loop between rounds so messages keep flowing; run `maintain` when the
 *    workload asks or it is due (`maintenance-timer.ts`: a workload whose `maintain` says when it
 *    is next due has no timer at idle; one that does not keeps the fixed interval). The heap
 *    report has its own slow timer.
 * 5. With unified logging (`init.logging`), the worker's `ctx.logging` comes from
 *    `logging/worker-logging.ts` (loaded only then); after each `maintain` it drains forwarded
 *    events and reports totals. The workload, not this loop, steps a hosting `ctx.logging`.
 */

import { getHeapStatistics } from "node:v8";
import type { ClusterWorker, WorkerSpec } from "../cluster-spec.js";
import { joinMesh, MAIN } from "../communication/mesh.js";
import { ResponseBatcher } from "../communication/response-batcher.js";
import { Sequencer, type SequencerMessage } from "../synchronization/sequencer.js";
import { MaintenanceTimer } from "./maintenance-timer.js";
import {
  HEAP_REPORT_MS,
  itemSize,
  type RuntimeInit,
  type SequencedItem,
  type WorkerToMain,
} from "./messages.js";

const mesh = await joinMesh();
const init = mesh.init as RuntimeInit;
const spec = ((await import(init.specModule)) as { default: WorkerSpec<unknown, unknown> }).default;

let nonce: string | null = null;
let stepScheduled = false;
let closed = false;

// Responses leave batched (`ResponseBatcher`); any other message first flushes them, so the main
// thread sees everything in the order the worker produced it.
// The spec may encode a message's responses first (`WorkerSpec.encodeResponses`): the buffer it
// returns is transferred, not copied.
const encodeResponses = spec.encodeResponses?.bind(spec);
const responses = new ResponseBatcher<unknown>((n, batch) => {
  const transfer = encodeResponses?.(batch);
  mesh.send(
    MAIN,
    "cluster:out",
    { kind: "responses", nonce: n, responses: batch } satisfies WorkerToMain,
    transfer === undefined ? undefined : [transfer],
  );
});
const respond = (response: unknown) => responses.push(nonce, response);
const flushResponses = () => responses.flush();
const toMain = (msg: WorkerToMain) => {
  flushResponses();
  mesh.send(MAIN, "cluster:out", msg);
};

const logging =
  init.logging === null
    ? undefined
    : (await import("../logging/worker-logging.js")).createWorkerLogging(
        init.logging,
        mesh,
        toMain,
      );

// Index 0 of the order is the main thread (the leader); this worker is `index + 1`.
const sequencer = new Sequencer<SequencedItem>(
  mesh.index + 1,
  mesh.peers + 1,
  (to, msg) => mesh.send(to === 0 ? MAIN : to - 1, "cluster:seq", msg),
  { size: itemSize },
);

let maintained: ClusterWorker<unknown> | undefined;
const maintenance = new MaintenanceTimer({
  intervalMs: init.maintenanceIntervalMs,
  run() {
    // Not before the worker exists (it may ask while it is being built).
    if (closed || maintained === undefined) return Number.POSITIVE_INFINITY;
    const due = maintained.maintain?.();
    logging?.afterMaintain(Date.now());
    // A workload on the fixed cadence gets a step after every tick, as it always did; one that
    // says when it is due asks for steps itself.
    if (typeof due !== "number") scheduleStep();
    return due;
  },
});

const worker = await spec.createWorker({
  index: mesh.index,
  peers: mesh.peers,
  config: init.config,
  mesh,
  respond,
  sequence(command) {
    sequencer.push({ kind: "command", nonce: null, command, internal: true });
    applyReady();
  },
  requestStep: scheduleStep,
  requestMaintenance: () => maintenance.request(),
  ...(logging === undefined ? {} : { logging: logging.host }),
});

function applyReady(): void {
  let applied = false;
  for (const { seq, item } of sequencer.drain()) {
    applied = true;
    if (item.kind === "connect") {
      nonce = item.nonce;
      worker.onConnection?.(item.nonce);
      toMain({ kind: "connected", nonce: item.nonce, seq });
    } else if (item.kind === "frames") {
      applyFrames(seq, item.bytes, item.ends);
    } else {
      worker.apply(item.command, { seq, internal: item.internal });
    }
  }
  if (applied) scheduleStep();
}

/** Applies commands forwarded as bytes (`messages.ts`), the first with sequence number `seq`. */
function applyFrames(seq: number, bytes: Uint8Array, ends: readonly number[]): void {
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i] as number;
    const command = spec.decodeCommand?.(bytes, start, end);
    start = end;
    if (command === undefined) {
      // The main thread forwards only what the spec reads (its `commandFrame`): a wiring bug.
      throw new Error(
        `worker ${mesh.index}: a forwarded command its spec cannot read (seq ${seq + i})`,
      );
    }
    worker.apply(command, { seq: seq + i, internal: false });
  }
}

function scheduleStep(): void {
  if (stepScheduled || closed) return;
  stepScheduled = true;
  setImmediate(runSteps);
}

function runSteps(): void {
  stepScheduled = false;
  if (closed) return;
  const deadline = performance.now() + init.stepBudgetMs;
  let more = true;
  // Answers of a step leave when it returns, not when the whole step budget is spent.
  while (more && performance.now() < deadline) {
    more = worker.step();
    flushResponses();
  }
  if (more) scheduleStep();
}

mesh.on("cluster:seq", (payload) => {
  try {
    sequencer.receive(payload as SequencerMessage<SequencedItem>);
  } catch (e) {
    toMain({ kind: "fatal", message: (e as Error).message });
    return;
  }
  applyReady();
});

mesh.on("cluster:step", () => scheduleStep());

mesh.on("cluster:close", async () => {
  closed = true;
  maintenance.close();
  clearInterval(heapTimer);
  sequencer.close();
  try {
    await worker.close?.();
  } finally {
    logging?.close();
    toMain({ kind: "closed" });
    mesh.close();
  }
});

maintained = worker;
// Workloads with nothing to ask run maintenance from the start; the others from their first ask.
maintenance.request();

// A worker's heap is its own isolate's: the process's heap metrics do not include it.
const reportHeap = () => {
  if (!closed) toMain({ kind: "heap", usedBytes: getHeapStatistics().used_heap_size });
};
reportHeap();
const heapTimer = setInterval(reportHeap, HEAP_REPORT_MS);
heapTimer.unref();
