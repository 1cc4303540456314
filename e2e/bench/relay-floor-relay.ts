/**
 * The relay of the relay floor (@internal; `relay-floor.ts` describes the topology), standing in
 * for environmentd: a bare `node:http2` server answering unary gRPC calls by way of the replicas
 * (argv: their URLs). One long-lived bidi stream per replica; each call's request message gets an
 * id and goes to every replica (only the first when the call's `:path` ends in `/r1`), coalesced
 * per event-loop turn; the first reply answers the call, later ones are dropped.
 *
 * Prints `PORT <n>` once listening on 127.0.0.1 (port 0); exits on SIGTERM/SIGINT or when its
 * stdin closes (the bench went away).
 */
import http2, { type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { grpcFrame } from "./raw-h2.js";
import {
  decodeFrames,
  EnvelopeReader,
  encodeFramesEnvelope,
  FLOOR_STREAM_PATH,
  TurnBatch,
} from "./relay-floor.js";

const replicaUrls = process.argv.slice(2);
if (replicaUrls.length === 0) {
  process.stderr.write("usage: relay-floor-relay.ts <replica url> ...\n");
  process.exit(2);
}
process.stdin.on("end", () => process.exit(0)).resume();
for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => process.exit(0));

/** Calls waiting for their first reply, by id. */
const waiting = new Map<number, ServerHttp2Stream>();
let nextId = 1;

function answer(id: number, body: Buffer): void {
  const call = waiting.get(id);
  if (call === undefined) return; // answered by the other replica (or the client went away)
  waiting.delete(id);
  if (call.destroyed) return;
  call.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  call.once("wantTrailers", () => call.sendTrailers({ "grpc-status": "0" }));
  call.end(grpcFrame(body));
}

const replicas = replicaUrls.map((url) => {
  const session = http2.connect(url);
  session.on("error", (e) => {
    process.stderr.write(`relay floor: replica ${url}: ${e.message}\n`);
    process.exit(1);
  });
  const stream = session.request({
    ":method": "POST",
    ":path": FLOOR_STREAM_PATH,
    "content-type": "application/grpc",
    te: "trailers",
  });
  const reader = new EnvelopeReader((message) => {
    for (const f of decodeFrames(message)) answer(f.id, f.body);
  });
  stream.on("data", (c: Buffer) => reader.push(c));
  stream.on("error", (e) => {
    process.stderr.write(`relay floor: replica stream ${url}: ${e.message}\n`);
    process.exit(1);
  });
  return new TurnBatch<{ id: number; body: Uint8Array }>((frames) =>
    stream.write(encodeFramesEnvelope(frames)),
  );
});

const server = http2.createServer();
server.on("stream", (stream, headers) => {
  const targeted = String(headers[":path"] ?? "").endsWith("/r1");
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  stream.on("error", () => {});
  stream.on("end", () => {
    const id = nextId++ >>> 0;
    // The request message without its 5-byte gRPC prefix (one message per unary call).
    const body = Buffer.concat(chunks).subarray(5);
    waiting.set(id, stream);
    stream.once("close", () => waiting.delete(id));
    if (targeted) replicas[0]!.add({ id, body });
    else for (const r of replicas) r.add({ id, body });
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`);
});
