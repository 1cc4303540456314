/**
 * Errors of environmentd's composition (`environment.ts`), under the package root
 * `EnvironmentdError`. The catalog's own errors (`UnknownObject`, `NameInUse`, …) live in
 * `catalog/errors.ts`; these cover what only the running environment can refuse.
 */
import type { Frontier } from "@mzts/repr";
import { EnvironmentdError } from "./catalog/errors.js";

/** A request that is well-formed on the wire but wrong for the catalog (→ InvalidArgument). */
export class InvalidObjectRequest extends EnvironmentdError {
  override name = "InvalidObjectRequest";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid request at ${field}: ${reason}; nothing was changed — fix it and retry`);
  }
}

/** A peek of an object that no index serves (→ FailedPrecondition). */
export class NoIndexForPeek extends EnvironmentdError {
  override name = "NoIndexForPeek";
  constructor(readonly objectName: string) {
    super(
      `${objectName} has no index to answer peeks; create one with CreateIndex ` +
        `(on: "${objectName}") and peek again`,
    );
  }
}

/** A peek below the collection's since (→ FailedPrecondition). */
export class PeekBelowSince extends EnvironmentdError {
  override name = "PeekBelowSince";
  constructor(
    readonly objectName: string,
    readonly timestamp: bigint,
    readonly since: Frontier,
  ) {
    super(
      `cannot read ${objectName} at ${timestamp}: it is compacted up to since ${since ?? "[] (dropped)"}; ` +
        "peek at a timestamp at or beyond the since, or leave the timestamp unset",
    );
  }
}

/** A subsource cannot be dropped alone (→ FailedPrecondition). */
export class SubsourceDrop extends EnvironmentdError {
  override name = "SubsourceDrop";
  constructor(
    readonly objectName: string,
    readonly sourceName: string,
  ) {
    super(`${objectName} is a subsource of ${sourceName}; drop the source ${sourceName} instead`);
  }
}

/** The environment was closed (→ Unavailable). */
export class EnvironmentClosed extends EnvironmentdError {
  override name = "EnvironmentClosed";
  constructor() {
    super("the environment is closed; start a new environmentd on the data directory");
  }
}

/** A read whose inputs did not reach the requested time in time (→ DeadlineExceeded). */
export class UpperWaitTimeout extends EnvironmentdError {
  override name = "UpperWaitTimeout";
  constructor(
    readonly objectName: string,
    readonly timestamp: bigint,
    readonly timeoutMs: number,
  ) {
    super(
      `the inputs of ${objectName} did not pass ${timestamp} within ${timeoutMs} ms; ` +
        "peek at an earlier time, leave the timestamp unset, or raise timeoutMs",
    );
  }
}

/** A read of an object that failed and is no longer maintained (→ FailedPrecondition). */
export class ObjectFailed extends EnvironmentdError {
  override name = "ObjectFailed";
  constructor(
    readonly objectName: string,
    readonly reason: string,
  ) {
    super(
      `${objectName} failed and is no longer maintained: ${reason}; ` +
        `see \`mzctl status\`, drop ${objectName} and create a fixed version`,
    );
  }
}
