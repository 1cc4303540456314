/**
 * The raw `node:http2` floor of the benches (@internal): a gRPC-framed unary call served and
 * issued with nothing but `node:http2` — no Connect, no protobuf decoding on either side — so a
 * bench can show how far its Connect echo baseline sits above the transport itself.
 *
 * - `rawH2Handler(answer)`: a `node:http2` stream handler that reads a request body and answers
 *   `200 application/grpc` with the bytes `answer(body)` returns (a gRPC frame: `grpcFrame`, or
 *   the framed request itself for an echo) and `grpc-status: 0` trailers.
 * - `rawH2Client(url, path)`: one h2c session; `call(body)` frames `body`, sends it as a unary
 *   request and resolves with the response bytes (still framed) once the trailers arrive.
 * - `grpcFrame(message)`: the 5-byte gRPC length prefix + message.
 * - `startRawH2EchoProcess()`: spawns `raw-h2-echo-server.ts` (its own process, like every other
 *   baseline) and resolves with its URL and a `stop()`;
 * - `spawnListening(script, args, children)`: spawns a bench server script and resolves with the
 *   port it prints (the relay floor's processes too).
 */
import { type ChildProcess, spawn } from "node:child_process";
import http2, { type ServerHttp2Stream } from "node:http2";
import { fileURLToPath } from "node:url";

export function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** A stream handler answering every unary call with the bytes of `answer(framed request)`. */
export function rawH2Handler(answer: (body: Buffer) => Uint8Array) {
  return (stream: ServerHttp2Stream): void => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", () => {}); // client went away: nothing to answer
    stream.on("end", () => {
      if (stream.destroyed) return;
      stream.respond(
        { ":status": 200, "content-type": "application/grpc" },
        { waitForTrailers: true },
      );
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(answer(Buffer.concat(chunks)));
    });
  };
}

export interface RawH2Client {
  /** One unary call: `body` is framed here; resolves with the (framed) response bytes. */
  call(body: Uint8Array): Promise<Buffer>;
  close(): void;
}

export function rawH2Client(url: string, path: string): RawH2Client {
  const session = http2.connect(url);
  session.on("error", () => {}); // surfaced per call
  return {
    call(body) {
      return new Promise<Buffer>((resolve, reject) => {
        const req = session.request({
          ":method": "POST",
          ":path": path,
          "content-type": "application/grpc",
          te: "trailers",
        });
        const chunks: Buffer[] = [];
        let status = "";
        req.on("trailers", (t) => {
          status = String(t["grpc-status"] ?? "");
        });
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("error", reject);
        req.on("end", () =>
          status === "0"
            ? resolve(Buffer.concat(chunks))
            : reject(new Error(`raw h2 call ended with grpc-status '${status}'`)),
        );
        req.end(grpcFrame(body));
      });
    },
    close() {
      session.close();
    },
  };
}

const ECHO_SERVER = fileURLToPath(new URL("./raw-h2-echo-server.ts", import.meta.url));

/**
 * Spawns `script` with `args` (same node and loader flags as this process; the child is pushed on
 * `children` at once, so the caller stops it whatever happens) and resolves with the port it
 * prints (`PORT <n>`); rejects when it exits first or prints none within 30 s.
 */
export async function spawnListening(
  script: string,
  args: string[],
  children: ChildProcess[],
): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  children.push(child);
  return await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${script} did not start in 30 s`)), 30_000);
    child.once("exit", (c) => reject(new Error(`${script} exited with ${c}`)));
    let out = "";
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
  });
}

/** Spawns the raw echo server (its own process, like every other baseline). */
export async function startRawH2EchoProcess(): Promise<{ url: string; stop(): void }> {
  const children: ChildProcess[] = [];
  const stop = () => {
    for (const c of children) c.kill("SIGKILL");
  };
  try {
    const port = await spawnListening(ECHO_SERVER, [], children);
    return { url: `http://127.0.0.1:${port}`, stop };
  } catch (e) {
    stop();
    throw e;
  }
}
