/**
 * The environment's replica secret (docs/design/20261206_replica_auth.md): 32 random bytes
 * created once in `<data-dir>/replica-secret` (mode 0600, 64 hex digits) and kept across boots,
 * so the replicas a restarted environmentd adopts still accept its hellos. The orchestrator hands
 * the file's path to every clusterd (`--controller-secret-file`); the controllers sign every hello
 * with the secret (`signHello`).
 *
 * Rotation: stop environmentd, delete the file, start it again — a new secret is written and the
 * replicas must be restarted (adopted ones would refuse the new proofs with Unauthenticated).
 */
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatReplicaSecret, generateReplicaSecret, parseReplicaSecret } from "@mzts/protocol";
import { EnvironmentdError } from "./catalog/errors.js";

/** The secret file's name under the data directory. */
export const REPLICA_SECRET_FILE = "replica-secret";

/** The replica secret file exists but cannot be used. */
export class ReplicaSecretUnusable extends EnvironmentdError {
  override name = "ReplicaSecretUnusable";
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(
      `the replica secret ${path} cannot be used: ${reason}; fix it, or delete it to create a new ` +
        "one (then restart every replica so it is spawned with the new secret)",
    );
  }
}

export interface ReplicaSecret {
  readonly path: string;
  readonly secret: Uint8Array;
}

/**
 * Reads `<dataDir>/replica-secret`, creating it (exclusively, mode 0600) on the first boot. A file
 * readable by group or others is narrowed to 0600 (it is ours).
 * @throws ReplicaSecretUnusable
 */
export function ensureReplicaSecret(dataDir: string): ReplicaSecret {
  const path = join(dataDir, REPLICA_SECRET_FILE);
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(path, formatReplicaSecret(generateReplicaSecret()), { flag: "wx", mode: 0o600 });
  } catch (e) {
    // EEXIST: made by an earlier boot (or a concurrent one): use it.
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new ReplicaSecretUnusable(path, (e as Error).message);
    }
  }
  try {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return { path, secret: parseReplicaSecret(readFileSync(path, "utf8")) };
  } catch (e) {
    throw new ReplicaSecretUnusable(path, (e as Error).message);
  }
}
