/**
 * Errors of the environment API codec, under the package root `ProtocolError`.
 *
 * - `MalformedRequest`: a request that does not decode into a valid domain request (empty or
 *   ill-shaped name, size 0, bad plan, column out of range, …). environmentd answers it with
 *   `InvalidArgument` and the message, which names the rpc and the field (protobuf JSON names,
 *   e.g. `plan.map.input.get`) and says what to fix.
 * - `MalformedApiResponse`: a response (decoded by a client) that breaks the documented rules.
 */
import { ProtocolError } from "../errors.js";

/** A request that must be refused (`InvalidArgument`). */
export class MalformedRequest extends ProtocolError {
  override name = "MalformedRequest";
  constructor(
    /** The rpc (camelCase method name, e.g. "createReplica"). */
    readonly rpc: string,
    /** Path of the offending field from the request root (protobuf JSON names). */
    readonly path: string,
    /** What is wrong with it. */
    readonly reason: string,
  ) {
    super(
      `malformed ${rpc} request at ${path || "(root)"}: ${reason}; ` +
        "nothing was changed — fix this field and send the request again",
    );
  }
}

/** A response of the environment API that breaks its documented rules; discard it. */
export class MalformedApiResponse extends ProtocolError {
  override name = "MalformedApiResponse";
  constructor(
    /** The rpc whose response this is. */
    readonly rpc: string,
    /** Path of the offending field from the response root (protobuf JSON names). */
    readonly path: string,
    /** What is wrong with it. */
    readonly reason: string,
  ) {
    super(
      `malformed ${rpc} response at ${path || "(root)"}: ${reason}; ` +
        "the server is buggy or speaks another API version — upgrade the client or the server",
    );
  }
}
