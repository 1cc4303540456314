/**
 * A minimal protocol driver for e2e tests (no controller yet): opens the compute or storage
 * stream of a replica, sends command batches, collects every response, and waits for responses
 * matching a predicate. Stream errors are captured as `ConnectError`s; a stream the server refused
 * unprocessed while closing its connection (HTTP/2 REFUSED_STREAM, which connect-node 2.1 reports
 * as Internal) is Unavailable (`refusedStreamIsUnavailable`). Pass the clusterd handle's `secret`
 * to sign the hello (replicas refuse unsigned hellos unless `--insecure-no-auth`).
 */
import { ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AsyncQueue } from "@mzts/mz-cluster";
import {
  type ComputeCommand,
  type ComputeResponse,
  computeRequestToProto,
  computeResponsesFromProto,
  createHello,
  type Hello,
  type HelloStream,
  type StorageCommand,
  type StorageResponse,
  signHello,
  storageRequestToProto,
  storageResponsesFromProto,
} from "@mzts/protocol";
import {
  ComputeService,
  type computeV1,
  StorageService,
  type storageV1,
} from "@mzts/protocol/wire";

/**
 * The refused-stream interceptor, loaded dynamically: `pnpm bench --compare <ref>` runs this
 * harness against older builds, whose `@mzts/controller-unified` may lack it (a named import fails
 * to link) or the `/replicas` entry altogether (then none: connect-node's Internal, as before).
 */
const refusedStream: Interceptor[] = await import("@mzts/controller-unified/replicas").then(
  (m) => {
    const i = (m as { refusedStreamIsUnavailable?: Interceptor }).refusedStreamIsUnavailable;
    return i === undefined ? [] : [i];
  },
  () => [],
);

/** The driver's transport to `url`. */
function transport(url: string) {
  return createGrpcTransport({ baseUrl: url, interceptors: refusedStream });
}

export interface Driver<C, R> {
  readonly responses: R[];
  send(cmds: readonly C[]): void;
  /** Waits until `pred` holds over the responses received so far. */
  until(
    pred: (responses: readonly R[]) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<void>;
  /** Waits for the first response (after index `from`) matching `pred`. */
  next<T extends R>(pred: (r: R) => r is T, from?: number, timeoutMs?: number): Promise<T>;
  /** Resolves when the stream ends: undefined if gracefully, else the error. */
  readonly done: Promise<ConnectError | undefined>;
  close(): Promise<ConnectError | undefined>;
}

function makeDriver<C, R, Req, Res>(
  open: (reqs: AsyncIterable<Req>) => AsyncIterable<Res>,
  encode: (cmds: readonly C[]) => Req,
  decode: (res: Res) => R[],
): Driver<C, R> {
  const requests = new AsyncQueue<Req>();
  const responses: R[] = [];
  let notify: (() => void) | undefined;
  const done = (async () => {
    try {
      for await (const msg of open(requests)) {
        responses.push(...decode(msg));
        notify?.();
      }
      return undefined;
    } catch (e) {
      return ConnectError.from(e);
    } finally {
      notify?.();
    }
  })();
  let ended = false;
  done.then(() => {
    ended = true;
  });
  const until = async (pred: (rs: readonly R[]) => boolean, what: string, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pred(responses)) {
      if (ended)
        throw new Error(
          `stream ended while waiting for ${what}: ${(await done)?.message ?? "graceful end"}`,
        );
      const left = deadline - Date.now();
      if (left <= 0) {
        // Where it stuck: a request message the transport never took (the client's side) or
        // an answer the server never sent.
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what} (${responses.length} responses ` +
            `received; ${requests.size} request messages sent but not yet taken by the transport)`,
        );
      }
      await new Promise<void>((resolve) => {
        notify = resolve;
        setTimeout(resolve, Math.min(left, 100));
      });
    }
  };
  return {
    responses,
    send: (cmds) => requests.push(encode(cmds)),
    until,
    async next(pred, from = 0, timeoutMs) {
      let found: R | undefined;
      await until(
        (rs) => (found = rs.slice(from).find(pred)) !== undefined,
        "a matching response",
        timeoutMs,
      );
      return found as never;
    },
    done,
    async close() {
      requests.end();
      return done;
    },
  };
}

/** Opens a compute stream and sends the hello (and, by default, createInstance). */
export function computeDriver(
  url: string,
  generation = 1n,
  opts: { createInstance?: boolean; hello?: Hello | null; secret?: Uint8Array | null } = {},
): Driver<ComputeCommand, ComputeResponse> {
  const client = createClient(ComputeService, transport(url));
  const d = makeDriver<
    ComputeCommand,
    ComputeResponse,
    computeV1.ControlRequest,
    computeV1.ControlResponse
  >((reqs) => client.control(reqs), computeRequestToProto, computeResponsesFromProto);
  // `hello: null` sends no hello (to test the hello-first rule); a given hello replaces ours.
  const first: ComputeCommand[] =
    opts.hello === null
      ? []
      : [
          {
            kind: "hello",
            hello: opts.hello ?? sign(createHello(generation), opts.secret, "compute"),
          },
        ];
  if (opts.createInstance !== false) {
    first.push({
      kind: "createInstance",
      config: {
        logging: { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
      },
    });
  }
  if (first.length > 0) d.send(first);
  return d;
}

/** Opens a storage stream and sends the hello. */
export function storageDriver(
  url: string,
  generation = 1n,
  opts: { secret?: Uint8Array | null } = {},
): Driver<StorageCommand, StorageResponse> {
  const client = createClient(StorageService, transport(url));
  const d = makeDriver<
    StorageCommand,
    StorageResponse,
    storageV1.ControlRequest,
    storageV1.ControlResponse
  >((reqs) => client.control(reqs), storageRequestToProto, storageResponsesFromProto);
  d.send([{ kind: "hello", hello: sign(createHello(generation), opts.secret, "storage") }]);
  return d;
}

/** `hello` signed with the replica's secret (clusterd's `secret`), or unsigned without one. */
function sign(hello: Hello, secret: Uint8Array | null | undefined, stream: HelloStream): Hello {
  return secret === undefined || secret === null ? hello : signHello(hello, secret, stream);
}
