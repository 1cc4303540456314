/**
 * For clients of the API (`mzctl`, tests): a request the server refused without processing it
 * is **Unavailable**, not Internal.
 *
 * When environmentd closes its API (shutdown, or fenced by a newer environmentd: it exits with
 * code 3), each HTTP/2 session gets a GOAWAY naming the last stream the server took. A request
 * the client sent before that GOAWAY reached it is refused (HTTP/2 `REFUSED_STREAM`), which
 * `@connectrpc/connect-node` 2.1 reports as Internal. The e2e fencing check got that Internal
 * under load.
 *
 * The mapping (`refusedStreamIsUnavailable`, a Connect client interceptor; `isRefusedStream`,
 * `refusedAsUnavailable`) is `@mzts/controller-unified/replicas`' (`refused-stream.ts` there,
 * which explains the race), shared with the other connect-node clients of an HTTP/2 server
 * (storage-client's legacy replica task, the e2e protocol driver); re-exported here for the API's
 * clients.
 */
export {
  isRefusedStream,
  refusedAsUnavailable,
  refusedStreamIsUnavailable,
} from "@mzts/controller-unified/replicas";
