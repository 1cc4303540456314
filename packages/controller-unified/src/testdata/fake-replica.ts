/**
 * Test fixtures for the unified replica task and the cluster stream (tests only): a fake replica
 * serving one `Control` service over h2c on 127.0.0.1 (port 0) — `ComputeService` for the
 * per-workload task (`startFakeReplica`), `ClusterService` for the one-port layout
 * (`startFakeClusterReplica`) — and the compute protocol description the tests drive it with.
 * (The stalling TCP proxy is `../testing/stall-proxy.ts`.)
 *
 * The fake replica records every stream (the commands of each request message, in order), lets
 * a test push responses into the current stream, can be told to end every new stream right
 * after its first message (a replica refusing its hello or replay: a crash loop), and counts the
 * HTTP/2 sessions (TCP connections) it accepted.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  type ClusterCommand,
  type ClusterResponse,
  type ComputeCommand,
  type ComputeResponse,
  clusterRequestFromProto,
  clusterResponsesToProto,
  computeRequestFrames,
  computeRequestFromProto,
  computeResponsesFromFrames,
  computeResponsesToProto,
} from "@mzts/protocol";
import {
  ClusterService,
  ComputeFramesService,
  ComputeService,
  type computeV1,
} from "@mzts/protocol/wire";
import type { ControlService, ReplicaProtocol } from "../replicas/replica-protocol.js";

/** The compute protocol, as compute-client describes it (a test-side copy; this package cannot import it). */
export const testComputeProtocol: ReplicaProtocol<
  ComputeCommand,
  ComputeResponse,
  computeV1.ControlRequestFrames,
  computeV1.ControlResponseFrames
> = {
  stream: "compute",
  service: ComputeFramesService,
  encode: computeRequestFrames,
  decode: computeResponsesFromFrames,
  hello: (hello) => ({ kind: "hello", hello }),
  isHello: (c) => c.kind === "hello",
};

/** One stream the fake replica served. */
export interface FakeStream<C = ComputeCommand> {
  /** The commands of each request message, in order. */
  readonly messages: C[][];
  /** Whether the stream is still open. */
  open: boolean;
}

export interface FakeReplica<C = ComputeCommand, R = ComputeResponse> {
  readonly url: string;
  readonly port: number;
  /** Every stream served, oldest first. */
  readonly streams: FakeStream<C>[];
  /** HTTP/2 sessions (TCP connections) accepted so far, and those still open. */
  readonly sessions: { readonly accepted: number; readonly open: number };
  /** Pushes responses into the newest open stream; false when none is open. */
  respond(responses: readonly R[]): boolean;
  /** Pushes one response message as given (e.g. one no decoder reads) into the newest open stream. */
  respondRaw(message: Message): boolean;
  /** From now on, end every new stream with `FailedPrecondition` after its first message. */
  refuseStreams(refuse: boolean): void;
  /** Ends the open streams (the replica "restarts" its server side). */
  endStreams(): void;
  close(): Promise<void>;
}

/** What a fake replica serves: one `Control` service and its codecs. */
interface FakeService<C, R, Req extends Message, Res extends Message> {
  readonly service: ControlService<Req, Res>;
  decode(request: Req): C[];
  encode(responses: readonly R[]): Res;
}

/** Starts a fake compute replica (`ComputeService`) on 127.0.0.1, port `port` (0: a free one). */
export function startFakeReplica(port = 0): Promise<FakeReplica> {
  return startFake(
    {
      service: ComputeService,
      decode: computeRequestFromProto,
      encode: (r: readonly ComputeResponse[]) => computeResponsesToProto(r),
    },
    port,
  );
}

/** Starts a fake one-port replica (`ClusterService` only) on 127.0.0.1, port `port`. */
export function startFakeClusterReplica(
  port = 0,
): Promise<FakeReplica<ClusterCommand, ClusterResponse>> {
  return startFake(
    {
      service: ClusterService,
      decode: clusterRequestFromProto,
      encode: (r: readonly ClusterResponse[]) => clusterResponsesToProto(r),
    },
    port,
  );
}

async function startFake<C, R, Req extends Message, Res extends Message>(
  spec: FakeService<C, R, Req, Res>,
  port: number,
): Promise<FakeReplica<C, R>> {
  const streams: FakeStream<C>[] = [];
  const pushers: Array<{
    stream: FakeStream<C>;
    push: (r: Res) => void;
    end: () => void;
  }> = [];
  let refuse = false;
  let accepted = 0;
  const routes = (router: ConnectRouter) =>
    router.service(spec.service, {
      async *control(requests: AsyncIterable<Req>) {
        const stream: FakeStream<C> = { messages: [], open: true };
        streams.push(stream);
        const queue: Res[] = [];
        let wake: (() => void) | undefined;
        let ended = false;
        const entry = {
          stream,
          push: (r: Res) => {
            queue.push(r);
            wake?.();
          },
          end: () => {
            ended = true;
            wake?.();
          },
        };
        pushers.push(entry);
        let failure: unknown;
        void (async () => {
          try {
            for await (const req of requests) {
              stream.messages.push(spec.decode(req));
              if (refuse) {
                throw new ConnectError("refused by the fake replica", Code.FailedPrecondition);
              }
            }
          } catch (e) {
            failure = e;
          } finally {
            entry.end();
          }
        })();
        try {
          for (;;) {
            const next = queue.shift();
            if (next !== undefined) {
              yield next;
              continue;
            }
            if (ended) break;
            await new Promise<void>((r) => {
              wake = r;
            });
            wake = undefined;
          }
          if (failure !== undefined) throw failure;
        } finally {
          stream.open = false;
          pushers.splice(pushers.indexOf(entry), 1);
        }
      },
    });
  const server = http2.createServer(connectNodeAdapter({ routes }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    accepted++;
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    streams,
    get sessions() {
      return { accepted, open: sessions.size };
    },
    respond(responses) {
      const last = pushers.at(-1);
      if (last === undefined) return false;
      last.push(spec.encode(responses));
      return true;
    },
    respondRaw(message) {
      const last = pushers.at(-1);
      if (last === undefined) return false;
      last.push(message as Res);
      return true;
    },
    refuseStreams(r) {
      refuse = r;
    },
    endStreams() {
      for (const p of [...pushers]) p.end();
    },
    async close() {
      for (const p of [...pushers]) p.end();
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
