/**
 * environmentd's public API: `mz.environment.v1.EnvironmentService` over an `Environment`,
 * served on two ports.
 *
 * - **gRPC port** (`grpcPort`): HTTP/2 cleartext (h2c, `http2.createServer`), for gRPC clients
 *   (and Connect/gRPC-web over HTTP/2).
 * - **HTTP port** (`httpPort`): plain HTTP/1.1 (`http.createServer`), serving the same service in
 *   the Connect protocol (JSON or binary), so `curl -H 'content-type: application/json' -d '{}'
 *   http://127.0.0.1:PORT/mz.environment.v1.EnvironmentService/ListClusters` works; it also
 *   answers `GET /metrics` (Prometheus text) and `GET /health` (`ok`).
 *
 * ## Idle connections
 * - HTTP/1.1: an idle keep-alive socket is closed after `API_HTTP_KEEP_ALIVE_TIMEOUT_MS` (65 s;
 *   Node's default is 5 s). A client reusing a socket at the very moment the server closes it gets
 *   `EPIPE`/`ECONNRESET`, so the server must outlast the clients' own idle timeouts: 65 s is above
 *   the common ones (undici 4 s, or the server's `Keep-Alive: timeout=` hint minus 1 s, which
 *   Node sends; load balancers' 60 s). Node's `http.Agent` has no idle timeout of its own unless
 *   given `timeout`: such a client should set one below 65 s. `headersTimeout` is kept above the
 *   keep-alive window (Node ≥ 18 starts the headers timer with a request's first byte, so it only
 *   bounds a slow sender; older runtimes counted the idle time, and closed idle sockets early).
 * - gRPC (h2c): no idle timeout (`Http2Server` timeout 0): an idle session stays open until the
 *   client closes it, or `close()`. HTTP/2 narrows the race but does not remove it: a server that
 *   ends a session sends GOAWAY naming the last stream it took, and refuses (`REFUSED_STREAM`,
 *   unprocessed, safe to retry) a stream the client opened before the GOAWAY reached it.
 *   connect-node reports that refusal as Internal; `refusedStreamIsUnavailable`
 *   (`refused-stream.ts`) is the client interceptor that makes it Unavailable.
 *
 * ## Flow of one rpc
 * 1. Decode the wire message with `environmentCodecs.<rpc>Request.fromProto` (`MalformedRequest`
 *    → InvalidArgument naming the field).
 * 2. Call the environment. 3. Encode the response with its codec (or `create(...)`).
 * Every failure goes through the one `toConnectError()` below (style §9).
 *
 * Every peek (either route) carries a `PeekTrace` whose stages are observed, once answered, in
 * `mz_environment_api_peek_stage_seconds{stage}` (`peek-stage-metrics.ts`; issue 16).
 *
 * Plain-gRPC `Peek` and `Status` on the gRPC port take a lean path beside Connect
 * (`grpc-fast-path.ts`: the same validation, environment call and error mapping; a peek's request
 * decoded and its answer encoded without message objects). A Status answer there is never compressed: at 1,000 collections
 * (~23 KB) Connect gzipped it for a client accepting gzip, on every call (issue 16).
 */
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createHttp2Server, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  CollectionMissing as ComputeCollectionMissing,
  InstanceMissing as ComputeInstanceMissing,
  PeekCanceled,
  PeekFailed,
  PeekTimeout,
  SinceViolation,
  SubscribeFailed,
} from "@mzts/compute-client";
import * as cluster from "@mzts/controller-unified/state";
import { PeekStageIndex, PeekTrace } from "@mzts/controller-unified/state";
import { MalformedPlan } from "@mzts/expr";
import { ReplicaStartFailed } from "@mzts/orchestrator";
import {
  environmentCodecs,
  MAX_API_MESSAGE_BYTES,
  MalformedRequest,
  peekRequestFromBinary,
  peekResponseToBinary,
} from "@mzts/protocol";
import { EnvironmentService, environmentV1 } from "@mzts/protocol/wire";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import {
  CatalogClosed,
  CatalogUnavailable,
  DependencyExists,
  InvalidCatalogInput,
  NameInUse,
  StaleGeneration,
  UnknownObject,
} from "../catalog/errors.js";
import type { Environment } from "../environment.js";
import {
  ClusterControllerMissing,
  ControllerRebuilt,
  EnvironmentClosed,
  IntrospectionDisabled,
  InvalidObjectRequest,
  NoIndexForPeek,
  NoReadyReplica,
  ObjectFailed,
  PeekBelowSince,
  StorageIntrospectionUnavailable,
  SubsourceDrop,
  UnknownIntrospectionRelation,
  UpperWaitTimeout,
} from "../errors.js";
import { type FastUnaryMethod, grpcFastPath, serveStreams } from "./grpc-fast-path.js";
import { PeekStageMetrics } from "./peek-stage-metrics.js";

const S = environmentV1;

/**
 * The one mapping from in-process errors to Connect codes (style §9). Messages are kept: they
 * say what to fix.
 */
export function toConnectError(e: unknown): ConnectError {
  if (e instanceof ConnectError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const code = codeOf(e);
  return new ConnectError(message, code, undefined, undefined, e);
}

function codeOf(e: unknown): Code {
  if (
    e instanceof MalformedRequest ||
    e instanceof InvalidObjectRequest ||
    e instanceof InvalidCatalogInput ||
    e instanceof MalformedPlan
  )
    return Code.InvalidArgument;
  if (e instanceof UnknownObject || e instanceof UnknownIntrospectionRelation) return Code.NotFound;
  if (e instanceof NameInUse) return Code.AlreadyExists;
  if (
    e instanceof DependencyExists ||
    e instanceof SubsourceDrop ||
    e instanceof NoIndexForPeek ||
    e instanceof ObjectFailed ||
    e instanceof PeekBelowSince ||
    e instanceof SinceViolation ||
    e instanceof cluster.SinceViolation ||
    e instanceof cluster.DependantsExist ||
    e instanceof cluster.InvalidStateRequest ||
    e instanceof IntrospectionDisabled ||
    e instanceof StorageIntrospectionUnavailable
  )
    return Code.FailedPrecondition;
  if (e instanceof StaleGeneration) return Code.Aborted;
  // The peek outcomes and SubscribeFailed are one class each for both controller paths
  // (`@mzts/controller-unified`'s, re-exported by compute-client and `./state`): one check each.
  if (e instanceof UpperWaitTimeout || e instanceof PeekTimeout) return Code.DeadlineExceeded;
  if (e instanceof PeekCanceled) return Code.Canceled;
  if (
    e instanceof EnvironmentClosed ||
    e instanceof CatalogClosed ||
    e instanceof CatalogUnavailable ||
    e instanceof PeekFailed ||
    e instanceof SubscribeFailed ||
    e instanceof ReplicaStartFailed ||
    e instanceof ComputeInstanceMissing ||
    e instanceof ComputeCollectionMissing ||
    e instanceof NoReadyReplica ||
    // the cluster's controller (either path): a collection or replica gone meanwhile
    e instanceof cluster.CollectionMissing ||
    e instanceof cluster.ReplicaMissing ||
    e instanceof ClusterControllerMissing ||
    e instanceof ControllerRebuilt
  )
    return Code.Unavailable;
  // GenerationNotBooted, invariant violations, anything unexpected: a bug, not the caller's fault.
  return Code.Internal;
}

/** Runs one rpc: its failure mapped by `toConnectError`, logged (Internal) or traced (refusals). */
function rpcRunner(logger?: Logger) {
  const log = logger?.child({ component: "environment-api" });
  return async function run<T>(rpc: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      const err = toConnectError(e);
      if (err.code === Code.Internal) log?.error({ err: e, rpc }, "rpc failed");
      else log?.debug({ rpc, code: Code[err.code], msg: err.rawMessage }, "rpc refused");
      throw err;
    }
  };
}

/**
 * `Peek` for the lean gRPC path (`grpc-fast-path.ts`): the same decode, environment call and
 * error mapping as the Connect route's, the answer written by `peekResponseToBinary`.
 */
export function fastPeekMethod(
  env: Environment,
  logger?: Logger,
  stages?: PeekStageMetrics,
): FastUnaryMethod<typeof EnvironmentService.method.peek.input> {
  const run = rpcRunner(logger);
  const { peek } = EnvironmentService.method;
  return {
    path: `/${EnvironmentService.typeName}/${peek.name}`,
    input: peek.input,
    // A scalar-only request without protobuf-es (`peek-request-binary.ts`); the rest by fromBinary.
    decode: peekRequestFromBinary,
    answer: (m, times) =>
      run("peek", async () => {
        const now = performance.now();
        const trace = tracePeek(stages, times?.receivedAt ?? now, times?.decodedAt ?? now);
        const bytes = peekResponseToBinary(
          await env.peek(environmentCodecs.peekRequest.fromProto(m), trace),
        );
        respondedPeek(stages, trace);
        return bytes;
      }),
  };
}

/**
 * A peek's trace when its stages are measured: `received` and `decoded` at the given times,
 * `admitted` now (the call starts).
 */
function tracePeek(stages: PeekStageMetrics | undefined, receivedAt: number, decodedAt: number) {
  if (stages === undefined) return undefined;
  const trace = new PeekTrace();
  trace.at[PeekStageIndex.received] = receivedAt;
  trace.at[PeekStageIndex.decoded] = decodedAt;
  trace.mark(PeekStageIndex.admitted);
  return trace;
}

/** Marks an answered peek's `responded` and observes its stages. */
function respondedPeek(stages: PeekStageMetrics | undefined, trace: PeekTrace | undefined) {
  if (stages === undefined || trace === undefined) return;
  trace.mark(PeekStageIndex.responded);
  stages.observe(trace);
}

/**
 * `Status` for the lean gRPC path (`grpc-fast-path.ts`): the Connect route's decode, environment
 * call, codec and error mapping; the answer serialized as Connect serializes it, uncompressed.
 */
export function fastStatusMethod(
  env: Environment,
  logger?: Logger,
): FastUnaryMethod<typeof EnvironmentService.method.status.input> {
  const run = rpcRunner(logger);
  const c = environmentCodecs;
  const { status } = EnvironmentService.method;
  return {
    path: `/${EnvironmentService.typeName}/${status.name}`,
    input: status.input,
    answer: (m) =>
      run("status", async () =>
        toBinary(
          status.output,
          c.statusResponse.toProto(await env.status(c.statusRequest.fromProto(m))),
        ),
      ),
  };
}

/** The Connect routes of `EnvironmentService` over an environment. */
export function environmentRoutes(
  env: Environment,
  logger?: Logger,
  stages?: PeekStageMetrics,
): (router: ConnectRouter) => void {
  const run = rpcRunner(logger);
  const c = environmentCodecs;
  return (router) =>
    router.service(EnvironmentService, {
      createCluster: (m) =>
        run("createCluster", async () =>
          create(
            S.CreateClusterResponseSchema,
            await env.createCluster(c.createClusterRequest.fromProto(m)),
          ),
        ),
      dropCluster: (m) =>
        run("dropCluster", async () => {
          await env.dropCluster(c.dropClusterRequest.fromProto(m));
          return create(S.DropClusterResponseSchema);
        }),
      listClusters: (m) =>
        run("listClusters", async () => {
          c.listClustersRequest.fromProto(m);
          return c.listClustersResponse.toProto(await env.listClusters());
        }),
      createReplica: (m) =>
        run("createReplica", async () =>
          create(
            S.CreateReplicaResponseSchema,
            await env.createReplica(c.createReplicaRequest.fromProto(m)),
          ),
        ),
      dropReplica: (m) =>
        run("dropReplica", async () => {
          await env.dropReplica(c.dropReplicaRequest.fromProto(m));
          return create(S.DropReplicaResponseSchema);
        }),
      createSource: (m) =>
        run("createSource", async () =>
          c.createSourceResponse.toProto(
            await env.createSource(c.createSourceRequest.fromProto(m)),
          ),
        ),
      createIndex: (m) =>
        run("createIndex", async () =>
          create(
            S.CreateIndexResponseSchema,
            await env.createIndex(c.createIndexRequest.fromProto(m)),
          ),
        ),
      createMaterializedView: (m) =>
        run("createMaterializedView", async () =>
          create(
            S.CreateMaterializedViewResponseSchema,
            await env.createMaterializedView(c.createMaterializedViewRequest.fromProto(m)),
          ),
        ),
      dropObject: (m) =>
        run("dropObject", async () => {
          await env.dropObject(c.dropObjectRequest.fromProto(m));
          return create(S.DropObjectResponseSchema);
        }),
      listObjects: (m) =>
        run("listObjects", async () =>
          c.listObjectsResponse.toProto(await env.listObjects(c.listObjectsRequest.fromProto(m))),
        ),
      peek: (m) =>
        run("peek", async () => {
          const now = performance.now();
          const trace = tracePeek(stages, now, now);
          const answer = c.peekResponse.toProto(await env.peek(c.peekRequest.fromProto(m), trace));
          respondedPeek(stages, trace);
          return answer;
        }),
      subscribe: async function* (m, ctx) {
        const req = await run("subscribe", async () => c.subscribeRequest.fromProto(m));
        // The call's signal: a client that goes away while no batch comes ends it (reads.ts).
        const iterator = env.subscribe(req, ctx.signal)[Symbol.asyncIterator]();
        try {
          for (;;) {
            const next = await run("subscribe", () => iterator.next());
            if (next.done === true) return;
            yield c.subscribeResponse.toProto(next.value);
          }
        } finally {
          await iterator.return?.();
        }
      },
      status: (m) =>
        run("status", async () =>
          c.statusResponse.toProto(await env.status(c.statusRequest.fromProto(m))),
        ),
      getFlags: (m) =>
        run("getFlags", async () =>
          c.getFlagsResponse.toProto(await env.getFlags(c.getFlagsRequest.fromProto(m))),
        ),
    });
}

export interface ApiServerOptions {
  readonly environment: Environment;
  readonly registry: Registry;
  readonly logger?: Logger;
  /** Default 127.0.0.1 (loopback). */
  readonly host?: string;
  /** gRPC (h2c) port; 0 = any free port (default). */
  readonly grpcPort?: number;
  /** Connect JSON + /metrics + /health (HTTP/1.1) port; 0 = any free port (default). */
  readonly httpPort?: number;
  /**
   * Serve plain-gRPC `Peek` and `Status` on the h2c port without Connect (`grpc-fast-path.ts`;
   * default on).
   * Off: every call goes through Connect (the tests compare the two).
   */
  readonly grpcFastPath?: boolean;
}

/**
 * Message nesting the API's binary decoder accepts (protobuf-es defaults to 100). Above
 * `@mzts/expr`'s `MAX_NESTING_DEPTH` (2 message levels per plan or expression level) with room to
 * spare, so a request somewhat deeper than the limit still decodes and gets InvalidArgument naming
 * `MAX_NESTING_DEPTH`, instead of Connect's Internal "parse binary" error (which remains for
 * requests nested beyond this).
 */
export const API_RECURSION_LIMIT = 256;

/**
 * How long the HTTP/1.1 listener keeps an idle keep-alive socket open (see "Idle connections"
 * above): above common clients' and load balancers' idle timeouts (60 s), so a client never reuses
 * a socket the server is closing. Advertised to clients as `Keep-Alive: timeout=65`.
 */
export const API_HTTP_KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** The HTTP/1.1 listener's `headersTimeout`: never shorter than the keep-alive window. */
export const API_HTTP_HEADERS_TIMEOUT_MS = API_HTTP_KEEP_ALIVE_TIMEOUT_MS + 1_000;

export interface ApiServer {
  /** `http://host:port` of the gRPC (h2c) listener. */
  readonly grpcUrl: string;
  /** `http://host:port` of the HTTP/1.1 listener (Connect JSON, /metrics, /health). */
  readonly httpUrl: string;
  close(): Promise<void>;
}

/** Starts both listeners; resolves once both are listening. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const host = opts.host ?? "127.0.0.1";
  const stages = PeekStageMetrics.of(opts.registry);
  const routes = environmentRoutes(opts.environment, opts.logger, stages);
  // Per-message limits (`@mzts/protocol` limits.ts); a compressed request is inflated at most
  // to `readMaxBytes`. Messages nest up to `API_RECURSION_LIMIT` levels.
  const adapter = {
    routes,
    readMaxBytes: MAX_API_MESSAGE_BYTES,
    writeMaxBytes: MAX_API_MESSAGE_BYTES,
    binaryOptions: { recursionLimit: API_RECURSION_LIMIT },
  };
  // One Connect handler serves both listeners (it takes HTTP/1.1 and HTTP/2 requests).
  const connect = connectNodeAdapter(adapter);
  // The hot unary methods in plain gRPC skip Connect (`grpc-fast-path.ts`); the rest is Connect's.
  const fast =
    opts.grpcFastPath === false
      ? undefined
      : grpcFastPath(
          [
            fastPeekMethod(opts.environment, opts.logger, stages),
            fastStatusMethod(opts.environment, opts.logger),
          ],
          {
            readMaxBytes: adapter.readMaxBytes,
            writeMaxBytes: adapter.writeMaxBytes,
            recursionLimit: adapter.binaryOptions.recursionLimit,
            toConnectError,
          },
        );
  // Plain-gRPC Peek and Status on the raw stream, the rest through the compatibility layer.
  const h2: Http2Server = createHttp2Server();
  serveStreams(h2, fast, connect);
  const h1: HttpServer = createHttpServer(
    {
      keepAliveTimeout: API_HTTP_KEEP_ALIVE_TIMEOUT_MS,
      headersTimeout: API_HTTP_HEADERS_TIMEOUT_MS,
    },
    (req, res) => {
      const path = (req.url ?? "").split("?")[0];
      if (req.method === "GET" && path === "/metrics") {
        opts.registry.metrics().then(
          (text) => {
            res.writeHead(200, { "content-type": opts.registry.contentType });
            res.end(text);
          },
          (e: unknown) => {
            res.writeHead(500, { "content-type": "text/plain" });
            res.end(String(e));
          },
        );
        return;
      }
      if (req.method === "GET" && path === "/health") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("ok\n");
        return;
      }
      connect(req, res);
    },
  );
  const listen = (server: Http2Server | HttpServer, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const grpcPort = await listen(h2, opts.grpcPort ?? 0);
  let httpPort: number;
  try {
    httpPort = await listen(h1, opts.httpPort ?? 0);
  } catch (e) {
    h2.close();
    throw e;
  }
  const sessions = new Set<import("node:http2").ServerHttp2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  return {
    grpcUrl: `http://${host}:${grpcPort}`,
    httpUrl: `http://${host}:${httpPort}`,
    async close() {
      for (const s of sessions) s.close();
      h1.closeAllConnections();
      await Promise.all([
        new Promise<void>((r) => h2.close(() => r())),
        new Promise<void>((r) => h1.close(() => r())),
      ]);
    },
  };
}
