/**
 * The envelope rules every stream shares: binary payloads that do not parse are malformed, and a
 * stream message must carry at least one command (or response), each decoded with its index in
 * the error path (`commands[3].peek.timestamp`).
 */
import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import { MalformedCommand, MalformedResponse, type ProtocolName } from "../errors.js";

/** Which way a message travels. */
export type Direction = "command" | "response";

function malformed(dir: Direction, protocol: ProtocolName, path: string, reason: string): Error {
  return dir === "command"
    ? new MalformedCommand(protocol, "unknown", path, reason)
    : new MalformedResponse(protocol, "unknown", path, reason);
}

/**
 * Parses a binary message (at `path` of its stream message, for the error).
 * @throws MalformedCommand | MalformedResponse for undecodable bytes.
 */
export function parseBinary<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
  protocol: ProtocolName,
  dir: Direction,
  path = "",
): MessageShape<Desc> {
  try {
    return fromBinary(schema, bytes);
  } catch (e) {
    throw malformed(dir, protocol, path, `undecodable payload (${(e as Error).message})`);
  }
}

/**
 * Decodes the items of one stream message, in order; `decodeAt(item, prefix)` decodes one item
 * with `prefix` (e.g. `commands[2].`) in front of its error paths.
 * @throws MalformedCommand | MalformedResponse, also when the message carries no item.
 */
export function decodeBatch<P, T>(
  items: readonly P[],
  protocol: ProtocolName,
  dir: Direction,
  decodeAt: (item: P, prefix: string) => T,
): T[] {
  const field = dir === "command" ? "commands" : "responses";
  if (items.length === 0) {
    throw malformed(dir, protocol, field, `is empty; send at least one ${dir} per stream message`);
  }
  return items.map((item, i) => decodeAt(item, `${field}[${i}].`));
}
