/**
 * The in-band command error shared by the compute and storage streams (design §3, class 2):
 * one command on one object was refused; the stream and every other object carry on.
 *
 * `command` is the refused command's kind as the domain names it, and must be a command kind of
 * the stream the error travels on (the decoder checks it against that stream's kinds).
 */
import { create } from "@bufbuild/protobuf";
import { decodeEnum, fail, nonEmpty, reverse } from "../codec/field.js";
import {
  type CommandError as CommandErrorProto,
  CommandErrorSchema,
  ErrorCode as ErrorCodeProto,
} from "../gen/mz/cluster/v1/error_pb.js";

/** Why a command was refused. */
export type ErrorCode =
  | "duplicateId"
  | "unknownId"
  | "frontierRegression"
  | "malformedPlan"
  | "sinceViolation"
  | "incompatibleDefinition"
  | "unsupported"
  | "internal";

const CODES: Readonly<Record<ErrorCode, ErrorCodeProto>> = {
  duplicateId: ErrorCodeProto.DUPLICATE_ID,
  unknownId: ErrorCodeProto.UNKNOWN_ID,
  frontierRegression: ErrorCodeProto.FRONTIER_REGRESSION,
  malformedPlan: ErrorCodeProto.MALFORMED_PLAN,
  sinceViolation: ErrorCodeProto.SINCE_VIOLATION,
  incompatibleDefinition: ErrorCodeProto.INCOMPATIBLE_DEFINITION,
  unsupported: ErrorCodeProto.UNSUPPORTED,
  internal: ErrorCodeProto.INTERNAL,
};
const CODES_BACK = reverse(CODES);

/** Every error code (for tests and exhaustive handling). */
export const ERROR_CODES = Object.keys(CODES) as ErrorCode[];

/** A refused command. */
export interface CommandError {
  /** The object the command was about: a GlobalId or a peek UUID; "" when it names none. */
  readonly objectId: string;
  /** The refused command's kind (e.g. "createDataflow"). */
  readonly command: string;
  readonly code: ErrorCode;
  /** Explanation that says what to do next (non-empty). */
  readonly message: string;
}

/** The wire form of a command error. */
export function commandErrorToProto(e: CommandError): CommandErrorProto {
  return create(CommandErrorSchema, {
    objectId: e.objectId,
    command: e.command,
    code: CODES[e.code],
    message: e.message,
  });
}

/**
 * Decodes a command error; `commands` are the command kinds of the stream it arrived on.
 * @throws FieldError (internal; wrapped by the stream codecs).
 */
export function commandErrorFromProto(
  p: CommandErrorProto,
  path: string,
  commands: ReadonlySet<string>,
): CommandError {
  if (!commands.has(p.command)) {
    fail(
      `${path}.command`,
      `${JSON.stringify(p.command)} is not a command kind of this stream (one of ${[...commands].join(", ")})`,
    );
  }
  return {
    objectId: p.objectId,
    command: p.command,
    code: decodeEnum(p.code, CODES_BACK, `${path}.code`, "error code"),
    message: nonEmpty(p.message, `${path}.message`),
  };
}
