/**
 * For every connect-node client of an HTTP/2 server (environmentd's API, a replica's controller
 * port): a request the server refused without processing it is **Unavailable**, not Internal.
 *
 * A server that closes a connection (shutdown, a fenced environmentd, a replica restarting) sends
 * a GOAWAY naming the last stream it took. A stream the client opened before that GOAWAY reached
 * it is refused (`RST_STREAM` / GOAWAY `REFUSED_STREAM`: "not processed, safe to retry", RFC 9113
 * §8.7). `@connectrpc/connect-node` 2.1 reports it as **Internal** "Stream closed with error code
 * NGHTTP2_REFUSED_STREAM": node emits the stream's `error` (`ERR_HTTP2_STREAM_ERROR`, mapped to
 * Internal) before its `close`, whose reset code would have been mapped to Unavailable. Any
 * server's GOAWAY has this race, so it is mapped on the client.
 *
 * `refusedStreamIsUnavailable`: a Connect interceptor turning such an error (of a unary call, or
 * of a stream's messages) into Unavailable, the original as its cause. It does not retry: the
 * caller decides (the request was not processed, so a retry is safe). Used by mzctl and the e2e
 * harness (through `@mzts/environmentd`, which re-exports it), the e2e protocol driver and
 * storage-client's legacy replica task. It lives here, below all of them (`-client` packages and
 * environmentd depend on this package; protocol does not depend on Connect).
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** Whether `e` is a ConnectError for a stream the server refused (see the file comment). */
export function isRefusedStream(e: unknown): boolean {
  if (!(e instanceof ConnectError) || e.code !== Code.Internal) return false;
  const seen = new Set<unknown>();
  for (let c: unknown = e; c instanceof Error && !seen.has(c); c = c.cause) {
    seen.add(c);
    const code = (c as { code?: unknown }).code;
    if (code === "ERR_HTTP2_STREAM_ERROR" && c.message.includes("NGHTTP2_REFUSED_STREAM")) {
      return true;
    }
  }
  return false;
}

/** `e` as Unavailable when it is a refused stream, else `e`. */
export function refusedAsUnavailable(e: unknown): unknown {
  if (!isRefusedStream(e)) return e;
  return new ConnectError(
    "the server refused the request without processing it (HTTP/2 REFUSED_STREAM: it was " +
      "closing the connection); retry it (the request had no effect)",
    Code.Unavailable,
    undefined,
    undefined,
    e,
  );
}

/** See the file comment. */
export const refusedStreamIsUnavailable: Interceptor = (next) => async (req) => {
  let res: Awaited<ReturnType<typeof next>>;
  try {
    res = await next(req);
  } catch (e) {
    throw refusedAsUnavailable(e);
  }
  if (!res.stream) return res;
  const messages = res.message;
  return {
    ...res,
    message: (async function* () {
      try {
        yield* messages;
      } catch (e) {
        throw refusedAsUnavailable(e);
      }
    })(),
  };
};
