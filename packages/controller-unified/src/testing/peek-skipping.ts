/**
 * A seam-level check of issue 16's lazy decode: a compute `ReplicaConnector`'s task asks its
 * instance (`awaitsPeek`) about each peek answer and drops the ones nobody waits for before
 * decoding them, delivers everything else in order, and still fails the incarnation on a
 * malformed answer that is awaited. Both compute replica tasks (legacy and unified) run it, and
 * the compute connection riding the phase 4 cluster stream (`wire: "cluster"`: the replica serves
 * `ClusterService`, each answer inside a `ClusterResponse.compute`).
 *
 * Flow: a loopback replica (`compute-server.ts`, the plain `ComputeService`) waits for the task's
 * first request (the hello), then answers with two messages:
 * 1. `[answer(awaited, canceled), answer(unawaited, rows of an unknown format), frontiers(u1)]` —
 *    the second answer would fail the incarnation if it were decoded;
 * 2. `[answer(awaited, rows of an unknown format)]` — awaited, so decoded and refused.
 */
import { create } from "@bufbuild/protobuf";
import {
  type ComputeCommand,
  type ComputeResponse,
  computeResponsesToProto,
  createHello,
} from "@mzts/protocol";
import { clusterV1, type computeV1, computeV1 as v1 } from "@mzts/protocol/wire";
import type { ReplicaConnector } from "../replicas/replica-connection.js";
import { checkTaskOptions } from "./check-options.js";
import { pollUntil, startClusterTestServer, startComputeTestServer } from "./compute-server.js";

export interface PeekSkippingReport {
  /** What each `onResponses` call delivered. */
  readonly delivered: readonly (readonly ComputeResponse[])[];
  /** The uuids `awaitsPeek` was asked about, in order. */
  readonly asked: readonly string[];
  /** What the incarnation failed with (expected: the second message's `MalformedResponse`). */
  readonly failure: Error | undefined;
}

export const AWAITED_PEEK = "5a0c1d9e-7c1b-4f0e-8a43-2f6f3e9b1c01";
export const UNAWAITED_PEEK = "5a0c1d9e-7c1b-4f0e-8a43-2f6f3e9b1c02";

/** An answer to `uuid` whose rows are of a format no decoder knows (malformed when decoded). */
function unreadableAnswer(uuid: string): computeV1.ComputeResponse {
  return create(v1.ComputeResponseSchema, {
    kind: {
      case: "peekResponse",
      value: { uuid, result: { case: "rows", value: { formatVersion: 999 } } },
    },
  });
}

/** Which stream the connector's task speaks. */
export type PeekSkippingWire = "compute" | "cluster";

/** Runs the check against `connector`'s task (see the file comment). */
export async function measurePeekSkipping(
  connector: ReplicaConnector<ComputeCommand, ComputeResponse>,
  deadlineMs = 10_000,
  wire: PeekSkippingWire = "compute",
): Promise<PeekSkippingReport> {
  const canceled: ComputeResponse = {
    kind: "peekResponse",
    uuid: AWAITED_PEEK,
    response: { kind: "canceled" },
  };
  const frontier: ComputeResponse = { kind: "frontiers", id: "u1", frontiers: { write: 1n } };
  const [first, third] = computeResponsesToProto([canceled, frontier]).responses as [
    computeV1.ComputeResponse,
    computeV1.ComputeResponse,
  ];
  const messages = [
    [first, unreadableAnswer(UNAWAITED_PEEK), third],
    [unreadableAnswer(AWAITED_PEEK)],
  ];
  /** Answers the first request (the hello) with `messages`, then holds the stream open. */
  async function* answer<Req, Res>(
    requests: AsyncIterable<Req>,
    message: (rs: computeV1.ComputeResponse[]) => Res,
  ) {
    for await (const _ of requests) {
      for (const m of messages) yield message(m);
      break;
    }
    await new Promise(() => {}); // hold the stream open; the task ends it
  }
  const server =
    wire === "compute"
      ? await startComputeTestServer({
          control: (requests) =>
            answer(requests, (responses) => create(v1.ControlResponseSchema, { responses })),
        })
      : await startClusterTestServer({
          control: (requests) =>
            answer(requests, (responses) =>
              create(clusterV1.ControlResponseSchema, {
                responses: responses.map((value) =>
                  create(clusterV1.ClusterResponseSchema, { kind: { case: "compute", value } }),
                ),
              }),
            ),
        });
  const delivered: ComputeResponse[][] = [];
  const asked: string[] = [];
  let failure: Error | undefined;
  const task = connector(
    checkTaskOptions<ComputeCommand, ComputeResponse>(
      server.url,
      [{ kind: "hello", hello: createHello(1n) }],
      {
        onResponses: (_, rs) => {
          delivered.push([...rs]);
        },
        onFailed: (_, e) => {
          failure = e;
        },
        awaitsPeek: (uuid) => {
          asked.push(uuid);
          return uuid === AWAITED_PEEK;
        },
      },
    ),
  );
  try {
    await pollUntil("measurePeekSkipping: the failure", () => failure !== undefined, deadlineMs);
    return { delivered, asked, failure };
  } finally {
    await task.close();
    await server.close();
  }
}
