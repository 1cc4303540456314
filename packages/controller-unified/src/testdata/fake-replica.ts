/**
 * Test fixtures for the unified replica task (tests only): a fake replica serving
 * `ComputeService.Control` over h2c on 127.0.0.1 (port 0) and the compute protocol description
 * the tests drive it with. (The stalling TCP proxy is `../testing/stall-proxy.ts`.)
 *
 * The fake replica records every stream (the commands of each request message, in order), lets
 * a test push responses into the current stream, and can be told to end every new stream right
 * after its first message (a replica refusing its hello or replay: a crash loop).
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  type ComputeCommand,
  type ComputeResponse,
  computeRequestFromProto,
  computeRequestToProto,
  computeResponsesFromProto,
  computeResponsesToProto,
} from "@mzts/protocol";
import { ComputeService, type computeV1 } from "@mzts/protocol/wire";
import type { ReplicaProtocol } from "../replicas/replica-protocol.js";

/** The compute protocol, as compute-client describes it (a test-side copy; this package cannot import it). */
export const testComputeProtocol: ReplicaProtocol<
  ComputeCommand,
  ComputeResponse,
  computeV1.ControlRequest,
  computeV1.ControlResponse
> = {
  stream: "compute",
  service: ComputeService,
  encode: computeRequestToProto,
  decode: computeResponsesFromProto,
  hello: (hello) => ({ kind: "hello", hello }),
  isHello: (c) => c.kind === "hello",
};

/** One stream the fake replica served. */
export interface FakeStream {
  /** The commands of each request message, in order. */
  readonly messages: ComputeCommand[][];
  /** Whether the stream is still open. */
  open: boolean;
}

export interface FakeReplica {
  readonly url: string;
  readonly port: number;
  /** Every stream served, oldest first. */
  readonly streams: FakeStream[];
  /** Pushes responses into the newest open stream; false when none is open. */
  respond(responses: readonly ComputeResponse[]): boolean;
  /** From now on, end every new stream with `FailedPrecondition` after its first message. */
  refuseStreams(refuse: boolean): void;
  /** Ends the open streams (the replica "restarts" its server side). */
  endStreams(): void;
  close(): Promise<void>;
}

/** Starts a fake replica on 127.0.0.1, port `port` (0: a free one). */
export async function startFakeReplica(port = 0): Promise<FakeReplica> {
  const streams: FakeStream[] = [];
  const pushers: Array<{
    stream: FakeStream;
    push: (r: computeV1.ControlResponse) => void;
    end: () => void;
  }> = [];
  let refuse = false;
  const routes = (router: ConnectRouter) =>
    router.service(ComputeService, {
      async *control(requests) {
        const stream: FakeStream = { messages: [], open: true };
        streams.push(stream);
        const queue: computeV1.ControlResponse[] = [];
        let wake: (() => void) | undefined;
        let ended = false;
        const entry = {
          stream,
          push: (r: computeV1.ControlResponse) => {
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
              stream.messages.push(computeRequestFromProto(req));
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
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    streams,
    respond(responses) {
      const last = pushers.at(-1);
      if (last === undefined) return false;
      last.push(computeResponsesToProto(responses));
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
