/**
 * A replica of the relay floor (@internal; `relay-floor.ts` describes the topology): a bare
 * `node:http2` server whose bidi streams carry frames messages. Every message's requests go to
 * the one worker thread in one `postMessage`; the worker answers each with the canned answer
 * (argv[2], base64) under the request's id and posts the batch back; the answers that come back
 * during one event-loop turn leave as one stream message (at most 64 per message).
 *
 * Prints `PORT <n>` once listening on 127.0.0.1 (port 0); exits on SIGTERM/SIGINT or when its
 * stdin closes (the bench went away).
 */
import http2, { type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { Worker } from "node:worker_threads";
import { EnvelopeReader, encodeFramesEnvelope, TurnBatch } from "./relay-floor.js";

const answerB64 = process.argv[2];
if (answerB64 === undefined) {
  process.stderr.write("usage: relay-floor-replica.ts <answer, base64>\n");
  process.exit(2);
}
process.stdin.on("end", () => process.exit(0)).resume();
for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => process.exit(0));

// The worker: plain JS (no loader needed in the thread). It gets one stream message's bytes (a
// copy, transferred) per `postMessage`, reads each frame's id (the frames layout of
// `relay-floor.ts`) and posts back `{ ids, answer }`: the canned answer for each id (the replica
// copies it into each answer's frame, as a replica encodes each answer into its own frame).
const worker = new Worker(
  `const { parentPort, workerData } = require("node:worker_threads");
   const answer = Buffer.from(workerData, "base64");
   parentPort.on("message", (bytes) => {
     const m = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
     const ids = [];
     let at = 0;
     while (at < m.length) {
       at++; // tag 0x0a
       let len = 0, shift = 1, b;
       do { b = m[at++]; len += (b & 0x7f) * shift; shift *= 128; } while (b >= 0x80);
       ids.push(m.readUInt32BE(at));
       at += len;
     }
     parentPort.postMessage({ ids, answer });
   });`,
  { eval: true, workerData: answerB64 },
);
worker.unref();

/** The stream each batch of ids came from, in the order the batches went to the worker. */
const batchStreams: ServerHttp2Stream[] = [];
const writers = new Map<ServerHttp2Stream, TurnBatch<{ id: number; body: Uint8Array }>>();
worker.on("message", ({ ids, answer }: { ids: number[]; answer: Uint8Array }) => {
  const stream = batchStreams.shift();
  const out = stream === undefined ? undefined : writers.get(stream);
  if (out === undefined) return; // the stream went away
  for (const id of ids) out.add({ id, body: answer });
});

const server = http2.createServer();
server.on("stream", (stream) => {
  stream.respond({ ":status": 200, "content-type": "application/grpc" });
  writers.set(
    stream,
    new TurnBatch((frames) => {
      if (!stream.destroyed) stream.write(encodeFramesEnvelope(frames));
    }),
  );
  const reader = new EnvelopeReader((message) => {
    const bytes = new Uint8Array(message); // a copy of the view, its buffer transferred
    batchStreams.push(stream);
    worker.postMessage(bytes, [bytes.buffer]);
  });
  stream.on("data", (c: Buffer) => reader.push(c));
  stream.on("error", () => {});
  stream.on("close", () => writers.delete(stream));
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`);
});
