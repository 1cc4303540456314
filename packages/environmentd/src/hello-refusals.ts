/**
 * What environmentd makes of a replica refusing its hellos (`ReplicaStatus.refusal` from the
 * compute controller): the status reason and one error log per distinct refusal, instead of a
 * silent reconnect loop.
 *
 * - `stale-generation`: the replica has accepted a hello of a higher generation. The catalog
 *   decides what that means: a catalog generation above ours means a newer environmentd booted
 *   (this one is fenced; the fence check closes it); otherwise no newer environmentd exists and
 *   another process holding the replica secret sent that hello — the replica must be restarted.
 * - `unauthenticated`: the replica was started with another secret than this environment's.
 */
import type { HelloRefusal } from "@mzts/protocol";
import type { Logger } from "pino";
import { REPLICA_SECRET_FILE } from "./replica-secret.js";

/** The status reason for `replicaId` refusing the hellos of `generation`. */
export function refusalReason(
  replicaId: string,
  refusal: HelloRefusal,
  generation: bigint,
  catalogGeneration: bigint,
): string {
  if (refusal.kind === "unauthenticated") {
    return (
      `replica ${replicaId} refuses this environmentd's hellos as unauthenticated: it was started ` +
      `with another replica secret than <data-dir>/${REPLICA_SECRET_FILE}; restart the replica ` +
      "(kill its process: the orchestrator restarts it with this environment's secret)"
    );
  }
  const head =
    `replica ${replicaId} refuses this environmentd's hellos (generation ${generation}) as stale: ` +
    `it has accepted a hello of generation ${refusal.highestGeneration}`;
  if (catalogGeneration > generation) {
    return `${head}; the catalog's generation is ${catalogGeneration}: a newer environmentd booted and this one is fenced (it shuts down)`;
  }
  return (
    `${head}, but the catalog's generation is ${catalogGeneration}: no newer environmentd booted, ` +
    "so another process holding the replica secret sent that hello — restart the replica (kill " +
    `its process: the orchestrator restarts it) and check who can read <data-dir>/${REPLICA_SECRET_FILE}`
  );
}

/** Logs each distinct refusal of each replica once (at error). */
export class RefusalLog {
  readonly #seen = new Map<string, string>();
  constructor(readonly logger: Logger) {}

  note(replicaId: string, refusal: HelloRefusal | undefined, reason: string): void {
    if (refusal === undefined) {
      this.#seen.delete(replicaId);
      return;
    }
    const key =
      refusal.kind === "stale-generation" ? `stale:${refusal.highestGeneration}` : refusal.kind;
    if (this.#seen.get(replicaId) === key) return;
    this.#seen.set(replicaId, key);
    this.logger.error({ replica_id: replicaId, refusal: refusal.kind }, reason);
  }
}
