/**
 * The raw `node:http2` unary echo (@internal): answers every gRPC-framed unary call with its own
 * request body (already framed: the bytes go back untouched). Prints `PORT <n>` when listening on
 * 127.0.0.1 (port 0); exits on SIGTERM/SIGINT or when its stdin closes (the bench went away).
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { rawH2Handler } from "./raw-h2.js";

process.stdin.on("end", () => process.exit(0)).resume();
for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => process.exit(0));
const server = http2.createServer();
server.on(
  "stream",
  rawH2Handler((body) => body),
);
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`);
});
