/**
 * The transport baseline of `environment.bench.ts` (@internal): a bare Connect server for
 * `mz.environment.v1.EnvironmentService/Peek` that answers every call with one canned response.
 * The response is environmentd's own answer to the same request, re-fetched every 500 ms (the
 * demo's objects grow with the load generator), so the baseline moves the same request and
 * response messages through the same stack as the real API (connect-node over h2c and as Connect
 * JSON over HTTP/1.1) and does no work in between. A third listener is the raw floor: a bare
 * `node:http2` server (`raw-h2.ts`) answering every unary call with the same response's
 * gRPC-framed bytes, encoded once per refresh — no Connect, no decoding.
 *
 * Usage: `node --import tsx peek-echo-server.ts <environmentd gRPC url> <object>`.
 * Prints `PORTS <h2c port> <http/1.1 port> <raw h2 port> <rows>` on stdout once both listeners are up. Exits on
 * SIGTERM/SIGINT or when its stdin closes (the bench went away), so it never outlives the bench.
 */
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttp2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { toBinary } from "@bufbuild/protobuf";
import { type ConnectRouter, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { EnvironmentService } from "@mzts/protocol/wire";
import { grpcFrame, rawH2Handler } from "./raw-h2.js";

/** How often the canned response is re-fetched from environmentd. */
const REFRESH_MS = 500;
const [url, object] = process.argv.slice(2);
if (url === undefined || object === undefined) {
  process.stderr.write("usage: peek-echo-server.ts <environmentd gRPC url> <object>\n");
  process.exit(2);
}
process.stdin.on("end", () => process.exit(0)).resume();
for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => process.exit(0));

const api = createClient(EnvironmentService, createGrpcTransport({ baseUrl: url }));
let canned = await api.peek({ object });
const frame = () => grpcFrame(toBinary(EnvironmentService.method.peek.output, canned));
let cannedFrame = frame();
// The object grows with the load generator: keep the copy as large as the real answer.
setInterval(() => {
  api.peek({ object }).then(
    (res) => {
      canned = res;
      cannedFrame = frame();
    },
    () => {}, // environmentd busy or gone: keep the last copy
  );
}, REFRESH_MS).unref();
const routes = (router: ConnectRouter) =>
  router.service(EnvironmentService, { peek: () => canned });
const h2 = createHttp2Server(connectNodeAdapter({ routes }));
const h1 = createHttpServer(connectNodeAdapter({ routes }));
const raw = createHttp2Server();
raw.on(
  "stream",
  rawH2Handler(() => cannedFrame),
);
const listen = (server: typeof h2 | typeof h1) =>
  new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
const [h2Port, h1Port, rawPort] = await Promise.all([listen(h2), listen(h1), listen(raw)]);
process.stdout.write(`PORTS ${h2Port} ${h1Port} ${rawPort} ${canned.rows.length}\n`);
