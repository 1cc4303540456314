/**
 * A Connect server for the compute stream whose session answers every peek with no rows — for
 * tests and benchmarks of the serving layer (hello, fencing, stages) without a compute workload
 * (@internal — no semver).
 */
import { type ComputeCommand, type ComputeResponse, PROTOCOL_VERSION } from "@mzts/protocol";
import { ComputeServerFramesService } from "@mzts/protocol/wire";
import { ControllerConnections } from "../controller-connections.js";
import { listenControllerServer } from "../controller-server.js";
import { createStreamHandler, type StreamSession } from "../server.js";
import { computeStreamCodec } from "../stream-codecs.js";

/** A session that answers every peek itself with no rows (no runtime behind it). */
export function echoPeekSession(): StreamSession<ComputeCommand, ComputeResponse> {
  let sink: (r: readonly ComputeResponse[]) => void = () => {};
  return {
    commands(cmds) {
      const out: ComputeResponse[] = [];
      for (const c of cmds) {
        if (c.kind === "peek") {
          out.push({
            kind: "peekResponse",
            uuid: c.peek.uuid,
            response: { kind: "rows", rows: [] },
          });
        }
      }
      if (out.length > 0) sink(out);
    },
    onResponses(s) {
      sink = s;
    },
    close() {},
  };
}

export interface EchoServer {
  readonly url: string;
  readonly connections: ControllerConnections;
  close(): Promise<void>;
}

/**
 * Starts the echo server on 127.0.0.1 (a free port), with the replica servers' limits; `secret`
 * turns hello authentication on.
 */
export async function startComputeEchoServer(
  secret: Uint8Array | null = null,
): Promise<EchoServer> {
  const connections = new ControllerConnections({
    protocolVersion: PROTOCOL_VERSION,
    noControllerTimeoutMs: 0,
    secret,
    stream: "compute",
    label: "echo replica compute port",
  });
  const handler = createStreamHandler({
    codec: computeStreamCodec,
    connections,
    openSession: echoPeekSession,
  });
  const server = await listenControllerServer({
    routes: (router) => router.service(ComputeServerFramesService, { control: handler } as never),
  });
  return {
    url: server.url,
    connections,
    close: async () => {
      connections.close();
      await server.close();
    },
  };
}
