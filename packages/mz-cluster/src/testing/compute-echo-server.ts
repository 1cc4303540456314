/**
 * A Connect server for the compute stream whose session answers every peek with no rows — for
 * tests and benchmarks of the serving layer (hello, fencing, stages) without a compute workload
 * (@internal — no semver).
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { type ComputeCommand, type ComputeResponse, PROTOCOL_VERSION } from "@mzts/protocol";
import { ComputeService } from "@mzts/protocol/wire";
import { ControllerConnections } from "../controller-connections.js";
import {
  CONTROLLER_STREAM_SERVER_OPTIONS,
  createStreamHandler,
  type StreamSession,
} from "../server.js";
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
  const routes = (router: ConnectRouter) => router.service(ComputeService, { control: handler });
  const server = http2.createServer(
    connectNodeAdapter({ routes, ...CONTROLLER_STREAM_SERVER_OPTIONS }),
  );
  const open = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    open.add(s);
    s.on("close", () => open.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        connections.close();
        server.close(() => resolve());
        // Streams left open by a test must not keep the server alive.
        for (const s of open) s.destroy();
      }),
  };
}
