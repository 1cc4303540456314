/**
 * Serving one workload (compute or storage) to its controller on its own port: a Connect gRPC
 * service over HTTP/2 (h2c) whose bidi `Control` stream is handled by mz-cluster's
 * `createStreamHandler` with the workload's runtime (unified or legacy) behind it.
 *
 * The runtime outlives every connection: when a controller goes away, its dataflows and
 * ingestions keep running for the next one (which reconciles).
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  type ClusterRuntime,
  CONTROLLER_STREAM_SERVER_OPTIONS,
  type ControllerConnections,
  createRuntimeSessions,
  createStreamHandler,
  type ResponseMerger,
  type StreamCodec,
} from "@mzts/mz-cluster";
import { truncateForLog } from "@mzts/protocol";
import type { Logger } from "pino";
import type { ListenAddress } from "./config.js";
import type { ClusterdMetrics } from "./metrics.js";

export interface WorkloadServerOptions<
  WireReq,
  C extends { kind: string },
  WireRes,
  R extends { kind: string },
> {
  readonly name: "compute" | "storage";
  readonly service: DescService;
  readonly codec: StreamCodec<WireReq, C, WireRes, R>;
  readonly runtime: ClusterRuntime<C, R>;
  readonly newMerger: (workers: number) => ResponseMerger<C, R>;
  readonly connections: ControllerConnections;
  readonly listen: ListenAddress;
  readonly metrics: ClusterdMetrics;
  readonly logger: Logger;
}

export interface WorkloadServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function serveWorkload<
  WireReq,
  C extends { kind: string },
  WireRes,
  R extends { kind: string },
>(opts: WorkloadServerOptions<WireReq, C, WireRes, R>): Promise<WorkloadServer> {
  const { name, metrics, logger } = opts;
  const sessions = createRuntimeSessions(opts.runtime, opts.newMerger);
  const handler = createStreamHandler<WireReq, C, WireRes, R>({
    codec: {
      ...opts.codec,
      decodeRequest(req) {
        const cmds = opts.codec.decodeRequest(req);
        metrics.lastCommandReceived.set({ server_name: name }, Date.now() / 1000);
        for (const c of cmds) metrics.commands.inc({ workload: name, command_type: c.kind });
        return cmds;
      },
      encodeResponses(resps) {
        for (const r of resps) metrics.responses.inc({ workload: name, response_type: r.kind });
        return opts.codec.encodeResponses(resps);
      },
    },
    connections: opts.connections,
    openSession(conn) {
      metrics.connections.inc({ workload: name });
      logger.info(
        { workload: name, nonce: conn.nonce, generation: conn.hello.generation.toString() },
        "controller connected",
      );
      return sessions(conn);
    },
    onStreamError(err, conn) {
      metrics.streamErrors.inc({ workload: name, code: Code[err.code] ?? String(err.code) });
      logger.warn(
        {
          workload: name,
          nonce: conn?.nonce,
          code: Code[err.code],
          err: truncateForLog(err.rawMessage, 1024),
        },
        "controller stream ended",
      );
    },
  });
  const routes = (router: ConnectRouter) =>
    router.service(opts.service, { control: handler } as never);
  const server = http2.createServer(
    connectNodeAdapter({ routes, ...CONTROLLER_STREAM_SERVER_OPTIONS }),
  );
  const open = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    open.add(s);
    s.on("close", () => open.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ workload: name, host: opts.listen.host, port }, "serving controller stream");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      }),
  };
}
