/**
 * The lean gRPC path admits at most `callsPerTurn` calls a turn (issue 16): 100 peeks written
 * together on one HTTP/2 session (one socket read, as the bench's 256 in flight) used to start
 * all at once, so no peek command left before every call of the read was handled. Now no turn
 * starts more than the limit, every call is answered, and they start in arrival order.
 */
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { EnvironmentService } from "@mzts/protocol/wire";
import { describe, expect, it } from "vitest";
import { type FastUnaryMethod, grpcFastPath } from "./grpc-fast-path.js";
import { CALLS_PER_TURN } from "./turn-admission.js";

const PATH = "/mz.environment.v1.EnvironmentService/Peek";

describe("the lean path's admission", () => {
  it("starts at most CALLS_PER_TURN calls a turn, in order, and answers all", async () => {
    let turnNo = 0;
    let ticking = true;
    const tick = () => {
      turnNo++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const startsByTurn = new Map<number, number>();
    const order: string[] = [];
    const { peek } = EnvironmentService.method;
    const method: FastUnaryMethod<typeof peek.input> = {
      path: PATH,
      input: peek.input,
      async answer(m) {
        startsByTurn.set(turnNo, (startsByTurn.get(turnNo) ?? 0) + 1);
        order.push(m.object);
        return new Uint8Array();
      },
    };
    const handler = grpcFastPath([method], {
      readMaxBytes: 1 << 20,
      writeMaxBytes: 1 << 20,
      recursionLimit: 100,
      toConnectError: (e) => new ConnectError(String(e), Code.Internal),
    });
    const server = http2.createServer((req, res) => {
      if (!handler(req, res)) res.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const { port } = server.address() as { port: number };
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const n = 100;
      const calls = Array.from({ length: n }, (_, i) => {
        const body = toBinary(peek.input, create(peek.input, { object: `o${i}` }));
        const frame = Buffer.alloc(5 + body.length);
        frame.writeUInt32BE(body.length, 1);
        frame.set(body, 5);
        return new Promise<string>((resolve, reject) => {
          const req = session.request({
            ":method": "POST",
            ":path": PATH,
            "content-type": "application/grpc",
          });
          let status = "";
          req.on("trailers", (t) => {
            status = String(t["grpc-status"]);
          });
          req.on("data", () => {});
          req.on("error", reject);
          req.on("end", () => resolve(status));
          req.end(frame);
        });
      });
      expect(await Promise.all(calls)).toEqual(Array(n).fill("0"));
      expect(Math.max(...startsByTurn.values())).toBeLessThanOrEqual(CALLS_PER_TURN);
      expect(order).toEqual(Array.from({ length: n }, (_, i) => `o${i}`));
    } finally {
      ticking = false;
      session.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
