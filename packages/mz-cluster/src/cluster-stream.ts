/**
 * The unified cluster stream's handler (phase 4, `cluster-unification-client`):
 * `mz.cluster.v1.ClusterService/Control` carries the compute and the storage sub-protocols on one
 * bidirectional stream; this handler demultiplexes it to the two runtimes' sessions and
 * multiplexes their responses back.
 *
 * ## Rules (`@mzts/protocol` `cluster.proto`, `cluster-command.ts`)
 * - The first command of the stream is a hello of either sub-protocol (else `InvalidArgument`);
 *   it opens the stream's connection in `ControllerConnections` — authenticated for its own stream
 *   name ("compute" / "storage"), fenced by generation, newest wins — and its sub-protocol's lane.
 * - The other sub-protocol's first command must be its own hello too; it may come in any later
 *   message. It `join`s the connection: signed for its own stream name, and it must agree with the
 *   first (`checkClusterHellos`: nonce, generation, versions) else the stream ends with
 *   `InvalidArgument`.
 * - Each sub-protocol keeps its own stages (its replay, exactly one InitializationComplete,
 *   compute's createInstance first) and is handed to its runtime as that runtime's controller
 *   connection (`openSession.compute` / `.storage`). Commands of the two interleave freely; the
 *   order within each is preserved (a message's commands go to each runtime in message order).
 * - Newest-wins and fencing apply to the stream as a whole: a newer accepted stream (on either
 *   sub-protocol's hello) ends this one with `Aborted`, and with it both of its sessions.
 * - A protocol violation on either sub-protocol ends the whole stream with its Connect code; the
 *   runtimes keep running for the next stream.
 * - Responses of both lanes produced in one event-loop turn leave as one stream message
 *   (`ResponseBatcher`), pre-encoded on a binary stream (`clusterResponsesFramed`).
 */
import type { ConnectError, HandlerContext } from "@connectrpc/connect";
import {
  type ClusterCommand,
  type ClusterResponse,
  type ComputeCommand,
  type ComputeResponse,
  clusterRequestFromFrames,
  clusterRequestFromProto,
  clusterResponsesFramed,
  clusterResponsesToProto,
  type StorageCommand,
  type StorageResponse,
} from "@mzts/protocol";
import type { clusterV1 } from "@mzts/protocol/wire";
import { ResponseBatcher } from "./communication/response-batcher.js";
import type { ControllerConnection, ControllerConnections } from "./controller-connections.js";
import { helloNotFirst, isBinaryStream, type StreamSession, serveStream } from "./server.js";
import { computeStreamCodec, storageStreamCodec } from "./stream-codecs.js";
import { StreamLane } from "./stream-lane.js";

/** A sub-protocol of the cluster stream. */
export type SubProtocol = ClusterCommand["kind"];

export interface ClusterStreamHandlerOptions {
  /** The stream's connections: one per cluster stream (the sub-protocols share it). */
  readonly connections: ControllerConnections;
  /** Serving each sub-protocol's connection (e.g. `createRuntimeSessions(runtime, …)`). */
  readonly openSession: {
    readonly compute: (
      conn: ControllerConnection,
    ) => StreamSession<ComputeCommand, ComputeResponse>;
    readonly storage: (
      conn: ControllerConnection,
    ) => StreamSession<StorageCommand, StorageResponse>;
  };
  /**
   * Observes the error that ended a stream (logs, metrics): `conn` is the stream's first accepted
   * sub-protocol connection, `protocol` the sub-protocol whose command caused it, if one did.
   */
  onStreamError?(
    err: ConnectError,
    conn: ControllerConnection | undefined,
    protocol: SubProtocol | undefined,
  ): void;
}

/** Builds the bidi-stream handler of `ClusterService.Control`. */
export function createClusterStreamHandler(
  opts: ClusterStreamHandlerOptions,
): (
  requests: AsyncIterable<clusterV1.ControlRequest | clusterV1.ControlRequestFrames>,
  context?: HandlerContext,
) => AsyncIterable<clusterV1.ControlResponse> {
  const { connections } = opts;
  return (requests, context) =>
    serveStream<
      clusterV1.ControlRequest | clusterV1.ControlRequestFrames,
      clusterV1.ControlResponse
    >(requests, connections.label, (out, end) => {
      const encode = isBinaryStream(context) ? clusterResponsesFramed : clusterResponsesToProto;
      const batcher = new ResponseBatcher<ClusterResponse>((_, rs) => out.push(encode(rs)));
      const lanes = {
        compute: new StreamLane<ComputeCommand, ComputeResponse>(
          computeStreamCodec.classify,
          opts.openSession.compute,
          (rs) => {
            for (const response of rs) batcher.push(null, { kind: "compute", response });
          },
        ),
        storage: new StreamLane<StorageCommand, StorageResponse>(
          storageStreamCodec.classify,
          opts.openSession.storage,
          (rs) => {
            for (const response of rs) batcher.push(null, { kind: "storage", response });
          },
        ),
      };
      /** The stream's connection: its first accepted sub-protocol's. */
      let first: ControllerConnection | undefined;
      /** The sub-protocol of the command being routed (names the culprit of a violation). */
      let routing: SubProtocol | undefined;

      /** Opens `kind`'s lane on its hello (the stream's first, or the other one joining). */
      const openLane = (kind: SubProtocol, cmd: ComputeCommand | StorageCommand) => {
        const cls = lanes[kind].classify(cmd as never);
        if (cls.kind !== "hello") {
          throw helloNotFirst(first ? `the ${kind} sub-protocol` : "a stream");
        }
        const conn =
          first === undefined
            ? connections.open(cls.hello, end, kind)
            : connections.join(first, cls.hello, kind);
        first ??= conn;
        lanes[kind].open(conn);
      };

      return {
        message(req) {
          routing = undefined;
          // A replica serves framed requests (`ClusterServerFramesService`: each command's
          // bytes, an allowCompaction read directly); an in-process caller may pass messages.
          const cmds =
            req.$typeName === "mz.cluster.v1.ControlRequestFrames"
              ? clusterRequestFromFrames(req.commands)
              : clusterRequestFromProto(req);
          const batches = { compute: [] as ComputeCommand[], storage: [] as StorageCommand[] };
          for (const c of cmds) {
            routing = c.kind;
            if (!lanes[c.kind].conn) {
              openLane(c.kind, c.command);
            } else if (c.kind === "compute") {
              lanes.compute.admit(c.command);
              batches.compute.push(c.command);
            } else {
              lanes.storage.admit(c.command);
              batches.storage.push(c.command);
            }
          }
          routing = undefined;
          lanes.compute.forward(batches.compute);
          lanes.storage.forward(batches.storage);
        },
        finish(err) {
          if (err) opts.onStreamError?.(err, first, routing);
          lanes.compute.close(err, connections);
          lanes.storage.close(err, connections);
          // Responses still batched are dropped with the stream (as a lane's session drops its).
        },
      };
    });
}
