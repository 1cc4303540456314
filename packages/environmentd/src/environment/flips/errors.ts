/**
 * Errors of live flips (`environment/flips/`), under the package root `EnvironmentdError`. They
 * never reach an API caller: a flip runs beside the API, and its failure is reported in status
 * (`ClusterStatus.flip`), logged and counted.
 */
import { EnvironmentdError } from "../../catalog/errors.js";

/** A replica did not catch up within the flip's timeout (a successor, or one being reseated). */
export class ReplicaNotHydrated extends EnvironmentdError {
  override name = "ReplicaNotHydrated";
  constructor(
    readonly replica: string,
    readonly timeoutMs: number,
    readonly pending: readonly string[],
  ) {
    super(
      `replica ${replica} did not hydrate within ${timeoutMs} ms (exports not caught up: ` +
        `${pending.slice(0, 5).join(", ")}${pending.length > 5 ? ", …" : ""}); the flip stopped ` +
        "and the old replicas keep serving — check the replica's logs and health, then flip the " +
        "flag again (or raise flipHydrationTimeoutMs)",
    );
  }
}
