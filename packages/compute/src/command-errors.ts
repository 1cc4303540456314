/**
 * `CommandErrors`: how one worker's `ComputeState` answers bad commands (design §3) — it never
 * throws out of the worker. A handler throws `CommandRefused` (or fails unexpectedly); `guard`
 * turns that into an in-band `commandError` response naming the object, the command and a code,
 * and counts it per code. A benign race (traffic for an id just dropped, cancel of an answered
 * peek) is only counted and logged at debug. The counts go out with the worker's statistics.
 */
import type { ComputeCommand, ComputeResponse, ErrorCode } from "@mzts/protocol";
import { truncateForLog } from "@mzts/protocol/domain";
import type { GlobalId } from "@mzts/repr";
import type { Logger } from "pino";
import { CommandRefused } from "./errors.js";
import { exportIds } from "./render/dataflow.js";

export class CommandErrors {
  readonly #log: Logger;
  readonly #respond: (r: ComputeResponse) => void;
  /** Benign races by command kind. */
  readonly #benign: Record<string, number> = {};
  /** Refused commands (and internal failures) by error code. */
  readonly #errors: Record<string, number> = {};

  constructor(log: Logger, respond: (r: ComputeResponse) => void) {
    this.#log = log;
    this.#respond = respond;
  }

  /** Runs `handle(cmd)`; a throw becomes the command's `commandError` (never rethrown). */
  guard(cmd: ComputeCommand, handle: (cmd: ComputeCommand) => void): void {
    try {
      handle(cmd);
    } catch (e) {
      if (e instanceof CommandRefused) this.#refuse(cmd, e.objectId, e.code, e.message);
      else {
        const err = e as Error;
        this.#log.error(
          { command: cmd.kind, err: err.stack ?? String(e) },
          "compute: command failed",
        );
        this.#refuse(
          cmd,
          objectOf(cmd),
          "internal",
          `internal error applying ${cmd.kind}: ${err.message}`,
        );
      }
    }
  }

  #refuse(cmd: ComputeCommand, objectId: string, code: ErrorCode, message: string): void {
    this.count(code);
    this.#log.warn(
      { command: cmd.kind, object: objectId, code },
      `compute: refused: ${truncateForLog(message, 1024)}`,
    );
    this.#respond({
      kind: "commandError",
      error: { objectId, command: cmd.kind, code, message },
    });
  }

  /** Counts an error that was answered another way (a peek's evaluation failure). */
  count(code: ErrorCode): void {
    this.#errors[code] = (this.#errors[code] ?? 0) + 1;
  }

  /** A benign race: counted, logged at debug, otherwise ignored. */
  benignRace(kind: string, id: string): void {
    this.#benign[kind] = (this.#benign[kind] ?? 0) + 1;
    this.#log.debug({ command: kind, object: id }, "compute: benign race ignored");
  }

  /**
   * A command names an id this worker does not have: a benign race when it was `dropped`.
   * @throws CommandRefused (unknownId) otherwise.
   */
  unknownOrDropped(kind: string, id: GlobalId, dropped: boolean): void {
    if (dropped) this.benignRace(kind, id);
    else
      throw new CommandRefused(
        id,
        "unknownId",
        `${kind}: ${id} does not exist on this replica; create it first`,
      );
  }

  /** Copies of the counts, for the worker's statistics. */
  counts(): { benignRaces: Record<string, number>; commandErrors: Record<string, number> } {
    return { benignRaces: { ...this.#benign }, commandErrors: { ...this.#errors } };
  }
}

/** The object a command is about, for error reports. */
function objectOf(cmd: ComputeCommand): string {
  switch (cmd.kind) {
    case "createDataflow":
      return exportIds(cmd.dataflow)[0] ?? "";
    case "schedule":
    case "allowWrites":
    case "allowCompaction":
      return cmd.id;
    case "peek":
      return cmd.peek.uuid;
    case "cancelPeek":
      return cmd.uuid;
    default:
      return "";
  }
}
