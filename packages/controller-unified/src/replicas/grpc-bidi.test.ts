/**
 * `grpcBidi` against a Connect server, side by side with Connect's own client: the same
 * messages, the same errors (code, message, trailers), the same bytes at the server.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, createClient } from "@connectrpc/connect";
import {
  connectNodeAdapter,
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { ComputeFramesService, ComputeService, type computeV1 } from "@mzts/protocol/wire";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codecOf, codeOfHttpStatus, grpcBidi } from "./grpc-bidi.js";

const Req = ComputeFramesService.method.control.input;
const LIMITS = { readMaxBytes: 1 << 20, writeMaxBytes: 1 << 20 };

/** What the server saw of each stream: the request messages' bytes. */
const seen: Uint8Array[][] = [];
let server: http2.Http2Server;
let url: string;

/**
 * The server's script, chosen by the first command's text: `echo` answers each request with
 * its commands; `fail` throws a ConnectError with trailers after one answer; `big` answers one
 * message over the client's limit; `end` ends the stream after the first answer.
 */
function routes(router: ConnectRouter) {
  router.service(ComputeFramesService, {
    async *control(requests) {
      const mine: Uint8Array[] = [];
      seen.push(mine);
      for await (const r of requests) {
        mine.push(toBinary(Req, r));
        const first = new TextDecoder().decode(r.commands[0] ?? new Uint8Array());
        if (first === "big") yield { responses: [new Uint8Array(2 << 20)] };
        else yield { responses: r.commands };
        if (first === "fail") {
          const m = new Headers({ "x-mz-refusal": "stale-generation" });
          throw new ConnectError("refused: 100% not you", Code.FailedPrecondition, m);
        }
        if (first === "end") return;
      }
    },
  });
}

beforeAll(async () => {
  server = http2.createServer(connectNodeAdapter({ routes }));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

const msg = (...texts: string[]): computeV1.ControlRequestFrames =>
  create(Req, { commands: texts.map((t) => new TextEncoder().encode(t)) });

async function* script(msgs: computeV1.ControlRequestFrames[], holdMs = 0) {
  for (const m of msgs) yield m;
  if (holdMs > 0) await new Promise((r) => setTimeout(r, holdMs));
}

interface Outcome {
  readonly answers: string[][];
  readonly code?: Code;
  readonly message?: string;
  readonly refusal?: string | null;
}

async function collect(it: AsyncIterable<computeV1.ControlResponseFrames>): Promise<Outcome> {
  const answers: string[][] = [];
  try {
    for await (const m of it) answers.push(m.responses.map((b) => new TextDecoder().decode(b)));
    return { answers };
  } catch (e) {
    const err = ConnectError.from(e);
    return {
      answers,
      code: err.code,
      message: err.rawMessage,
      refusal: err.metadata.get("x-mz-refusal"),
    };
  }
}

/** The same script through Connect's client and through `grpcBidi`. */
async function both(
  msgs: computeV1.ControlRequestFrames[],
  target = url,
): Promise<{ connect: Outcome; raw: Outcome; bytes: [Uint8Array[], Uint8Array[]] }> {
  const sessionManager = new Http2SessionManager(target);
  const client = createClient(
    ComputeFramesService,
    createGrpcTransport({ baseUrl: target, sessionManager }),
  );
  const n = seen.length;
  const connect = await collect(client.control(script(msgs)));
  sessionManager.abort();
  const session = http2.connect(target);
  session.on("error", () => {});
  try {
    const raw = await collect(
      grpcBidi(session, ComputeFramesService, script(msgs), new AbortController().signal, LIMITS),
    );
    return { connect, raw, bytes: [seen[n] ?? [], seen[n + 1] ?? []] };
  } finally {
    session.destroy();
  }
}

describe("grpcBidi", () => {
  it("carries the same messages as Connect's client, byte for byte, and ends when the server does", async () => {
    const msgs = [msg("a", "bc"), msg(""), msg("d")];
    const { connect, raw, bytes } = await both(msgs);
    expect(raw).toEqual({ answers: [["a", "bc"], [""], ["d"]] });
    expect(raw).toEqual(connect);
    expect(bytes[1]).toEqual(bytes[0]);
    expect(bytes[1]).toEqual(msgs.map((m) => toBinary(Req, m)));
  });

  it("a server error: the messages before it, then Connect's code, message and trailers", async () => {
    const { connect, raw } = await both([msg("fail", "x"), msg("never")]);
    expect(raw).toEqual({
      answers: [["fail", "x"]],
      code: Code.FailedPrecondition,
      message: "refused: 100% not you",
      refusal: "stale-generation",
    });
    expect(raw).toEqual(connect);
  });

  it("a stream the server ends early ends the iteration without an error", async () => {
    const { connect, raw } = await both([msg("end"), msg("late")]);
    expect(raw).toEqual({ answers: [["end"]] });
    expect(raw).toEqual(connect);
  });

  it("a message over readMaxBytes is ResourceExhausted", async () => {
    const session = http2.connect(url);
    try {
      const raw = await collect(
        grpcBidi(
          session,
          ComputeFramesService,
          script([msg("big")]),
          new AbortController().signal,
          LIMITS,
        ),
      );
      expect(raw.code).toBe(Code.ResourceExhausted);
      expect(raw.message).toMatch(/larger than configured readMaxBytes 1048576/);
    } finally {
      session.destroy();
    }
  });

  it("a server without the service: the code Connect's client gives (Unimplemented)", async () => {
    const other = http2.createServer(connectNodeAdapter({ routes: () => {} }));
    await new Promise<void>((r) => other.listen(0, "127.0.0.1", r));
    try {
      const target = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const { connect, raw } = await both([msg("a")], target);
      expect(raw.code).toBe(Code.Unimplemented);
      expect(raw.code).toBe(connect.code);
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
  });

  it("an abort ends the call at once with the signal's reason, and cancels the stream", async () => {
    const session = http2.connect(url);
    const abort = new AbortController();
    try {
      const reason = new Error("keepalive: no PING ack");
      setTimeout(() => abort.abort(reason), 100);
      const started = performance.now();
      const out = collect(
        grpcBidi(session, ComputeFramesService, script([msg("a")], 10_000), abort.signal, LIMITS),
      );
      await expect(out).resolves.toMatchObject({ answers: [["a"]], message: reason.message });
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      session.destroy();
    }
  });

  it("a request over writeMaxBytes fails the call with ResourceExhausted", async () => {
    const session = http2.connect(url);
    try {
      const raw = await collect(
        grpcBidi(
          session,
          ComputeFramesService,
          script([msg("x".repeat(100))], 10_000),
          new AbortController().signal,
          { readMaxBytes: 1 << 20, writeMaxBytes: 10 },
        ),
      );
      expect(raw.code).toBe(Code.ResourceExhausted);
      expect(raw.message).toMatch(/larger than configured writeMaxBytes 10/);
    } finally {
      session.destroy();
    }
  });

  it("HTTP statuses map to gRPC codes as gRPC's table says", () => {
    expect(codeOfHttpStatus(404)).toBe(Code.Unimplemented);
    expect(codeOfHttpStatus(503)).toBe(Code.Unavailable);
    expect(codeOfHttpStatus(401)).toBe(Code.Unauthenticated);
    expect(codeOfHttpStatus(500)).toBe(Code.Unknown);
  });
});

describe("codecOf", () => {
  const Res = ComputeFramesService.method.control.output;
  /** A deterministic generator (mulberry32). */
  const rng = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  it("frames messages: the bytes toBinary writes, the message fromBinary reads (random, 0 to 70,000-byte items)", () => {
    const enc = codecOf<computeV1.ControlRequestFrames>(Req);
    const dec = codecOf<computeV1.ControlResponseFrames>(Res);
    const r = rng(16);
    const sizes = [0, 1, 127, 128, 16_383, 16_384, 70_000];
    for (let i = 0; i < 100; i++) {
      const n = Math.floor(r() * 5);
      const items = Array.from({ length: n }, () => {
        const len =
          r() < 0.3 ? (sizes[Math.floor(r() * sizes.length)] as number) : Math.floor(r() * 300);
        const b = new Uint8Array(len).fill(Math.floor(r() * 256));
        if (len > 0) b[len - 1] = Math.floor(r() * 256);
        return b;
      });
      const req = create(Req, { commands: items });
      const bytes = enc.encode(req);
      // Buffer.equals: vitest's deep equality walks a 70 kB array byte by byte (seconds).
      expect(Buffer.from(bytes).equals(toBinary(Req, req))).toBe(true);
      const res = dec.decode(bytes);
      const ref = fromBinary(Res, bytes);
      expect(res.$typeName).toBe(ref.$typeName);
      expect(res.responses.length).toBe(ref.responses.length);
      res.responses.forEach((b, j) => {
        expect(Buffer.from(b).equals(ref.responses[j] as Uint8Array)).toBe(true);
      });
    }
  });

  it("what it does not read plainly goes to fromBinary (an unknown field kept; garbage throws as fromBinary)", () => {
    const dec = codecOf<computeV1.ControlResponseFrames>(Res);
    // Field 1 (one item "a"), then an unknown varint field 2 = 5.
    const withUnknown = Uint8Array.from([0x0a, 0x01, 0x61, 0x10, 0x05]);
    expect(dec.decode(withUnknown)).toEqual(fromBinary(Res, withUnknown));
    expect(
      codecOf<computeV1.ControlRequestFrames>(Req).encode(fromBinary(Req, withUnknown)),
    ).toEqual(withUnknown);
    const cut = Uint8Array.from([0x0a, 0x05, 0x61]);
    expect(() => dec.decode(cut)).toThrow();
    expect(() => fromBinary(Res, cut)).toThrow();
  });

  it("other messages use protobuf-es's own", () => {
    const Other = ComputeService.method.control.input;
    const m = create(Other, {});
    expect(codecOf(Other).encode(m)).toEqual(toBinary(Other, m));
  });
});
