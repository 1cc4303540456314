/**
 * A test controller for the unified cluster stream (@internal — no semver): opens one
 * `ClusterService.Control` stream over a Connect gRPC client, sends command batches (one stream
 * message each) and collects the responses per sub-protocol, in arrival order, or the error that
 * ended the stream.
 */
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type ClusterCommand,
  type ComputeResponse,
  clusterRequestToProto,
  clusterResponsesFromProto,
  type StorageResponse,
} from "@mzts/protocol";
import { ClusterService, type clusterV1 } from "@mzts/protocol/wire";
import { AsyncQueue } from "../async-queue.js";

export interface TestClusterStream {
  /** Sends `cmds` as one stream message. */
  send(cmds: readonly ClusterCommand[]): void;
  /** Sends a raw request message (e.g. one no codec would build). */
  sendRaw(msg: clusterV1.ControlRequest): void;
  /** Compute responses received, in order. */
  readonly compute: ComputeResponse[];
  /** Storage responses received, in order. */
  readonly storage: StorageResponse[];
  /** Stream messages received. */
  readonly messages: number;
  /** Undefined when the stream ended cleanly, else the error it ended with. */
  readonly done: Promise<ConnectError | undefined>;
  /** Closes the controller side. */
  end(): void;
}

/** Opens a stream to the `ClusterService` at `baseUrl` (`http://host:port`). */
export function openClusterStream(baseUrl: string): TestClusterStream {
  const client = createClient(ClusterService, createGrpcTransport({ baseUrl }));
  const requests = new AsyncQueue<clusterV1.ControlRequest>();
  const compute: ComputeResponse[] = [];
  const storage: StorageResponse[] = [];
  let messages = 0;
  const done = (async () => {
    try {
      for await (const msg of client.control(requests)) {
        messages++;
        for (const r of clusterResponsesFromProto(msg)) {
          if (r.kind === "compute") compute.push(r.response);
          else storage.push(r.response);
        }
      }
      return undefined;
    } catch (e) {
      return ConnectError.from(e);
    }
  })();
  return {
    send: (cmds) => requests.push(clusterRequestToProto(cmds)),
    sendRaw: (msg) => requests.push(msg),
    compute,
    storage,
    get messages() {
      return messages;
    },
    done,
    end: () => requests.end(),
  };
}
