/**
 * The chaos load's checks fail when they should (no processes: a scripted fake of the API). A
 * wrong answer at T, a write frontier or since going backward, a freshest read going back, a
 * subscribe upper going back and a subscribe that stalls in steady state are each reported; a
 * failure while disrupted is counted by cause but not held against the run, the same failure in
 * steady state is.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type {
  EnvironmentPeekResponse,
  EnvironmentSubscribeResponse,
  PeekRequest,
  StatusResponse,
} from "@mzts/protocol";
import { expect, it } from "vitest";
import { startLoad } from "../src/chaos/load.js";
import { T } from "../src/harness/auction-workload.js";
import { type EnvironmentApi, type Rows, sleep, waitFor } from "../src/harness/environment.js";

const bids: Rows = [[[1n, "a"], 1]];
const winning: Rows = [[[7n, 3n], 1]];

interface Script {
  /** Answer of the nth peek of `object`. */
  peek(req: PeekRequest, n: number): EnvironmentPeekResponse;
  /** The nth status. */
  status(n: number): StatusResponse;
  /** Batches of the subscribe (then it hangs until aborted). */
  readonly batches: EnvironmentSubscribeResponse[];
}

function fakeApi(s: Script): EnvironmentApi {
  const peeks = new Map<string, number>();
  let statuses = 0;
  const unused = () => {
    throw new Error("not used by the load");
  };
  return {
    async peek(req) {
      const n = (peeks.get(req.object) ?? 0) + 1;
      peeks.set(req.object, n);
      await sleep(5);
      return s.peek(req, n);
    },
    async status() {
      await sleep(5);
      return s.status(++statuses);
    },
    async *subscribe(_req, signal) {
      for (const b of s.batches) {
        await sleep(20);
        yield b;
      }
      await new Promise<void>((_, reject) =>
        signal?.addEventListener("abort", () => reject(new ConnectError("aborted", Code.Canceled))),
      );
    },
    createCluster: unused,
    createReplica: unused,
    listClusters: unused,
    createSource: unused,
    createIndex: unused,
    createMaterializedView: unused,
    dropObject: unused,
    listObjects: unused,
    client: undefined as never,
    close() {},
  };
}

function status(write: bigint, since: bigint): StatusResponse {
  return {
    clusters: [
      {
        id: "u1",
        name: "c",
        replicas: [],
        flags: [],
        collections: [{ id: "u9", name: "ticker_idx", writeFrontier: write, since, lagMs: 12 }],
        introspectionIntervalMs: 1000,
      },
    ],
  };
}

it("reports wrong answers, frontiers going back and a stalled subscribe", async () => {
  const api = fakeApi({
    peek: (req, n) => {
      const by = { replica: "r1", replicaId: "u2" };
      if (req.object === "bids_idx") return { rows: n === 3 ? [] : bids, timestamp: T, ...by };
      if (req.object === "winning_bids_idx") return { rows: winning, timestamp: T, ...by };
      return { rows: [], timestamp: n === 4 ? 100n : 1000n + BigInt(n), ...by };
    },
    status: (n) => (n === 3 ? status(50n, 10n) : status(100n + BigInt(n), 20n + BigInt(n))),
    batches: [
      { updates: [[[1n], 10n, 1]], upper: 20n },
      { updates: [], upper: 15n },
    ],
  });
  const load = startLoad(
    { api: () => api, disrupted: () => false },
    { bidsAtT: bids, winningAtT: winning },
    { stallMs: 1000 },
  );
  const expected = [
    /bids_idx at \d+: 0 rows differ from the baseline/,
    /freshest read went back: 100 after/,
    /ticker_idx \(u9\) write frontier went back: 50 after/,
    /ticker_idx \(u9\) since went back: 10 after/,
    /subscribe upper went back: 15 after 20/,
    /subscribe stalled: no batch and no error/,
  ];
  // Until each is reported (the last: the stall, 1 s without a batch after the second one).
  const reported = () => expected.every((re) => load.report.violations.some((x) => re.test(x)));
  try {
    await waitFor(
      "every violation to be reported",
      () => (reported() ? true : undefined),
      10_000,
      50,
    );
  } catch {
    // the expectations below name what is missing
  } finally {
    await load.stop();
  }
  const v = load.report.violations.join("\n");
  for (const re of expected) expect(v).toMatch(re);
  expect(load.report.maxLagMs).toBe(12);
});

it("holds failures against the run only in steady state", async () => {
  let disrupted = true;
  const api = fakeApi({
    peek: () => {
      throw new ConnectError("peek timed out", Code.DeadlineExceeded);
    },
    status: (n) => status(100n + BigInt(n), 1n),
    batches: [],
  });
  const load = startLoad(
    { api: () => api, disrupted: () => disrupted },
    { bidsAtT: bids, winningAtT: winning },
  );
  await sleep(300);
  const whileDisrupted = load.report.steadyFailures.length;
  disrupted = false;
  await sleep(300);
  await load.stop();
  expect(whileDisrupted).toBe(0);
  expect(load.report.steadyFailures.length).toBeGreaterThan(0);
  expect(load.report.steadyFailures[0]).toMatch(/^peek .*: DeadlineExceeded: peek timed out/);
  expect([...load.report.peeksFailed.keys()]).toEqual(["DeadlineExceeded: peek timed out"]);
  expect(load.report.violations).toEqual([]);
});
