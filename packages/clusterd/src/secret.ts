/**
 * Reading the environment's replica secret (`--controller-secret-file`) at start: the file
 * environmentd writes once to its data directory (`<data-dir>/replica-secret`, mode 0600; design
 * docs/design/20261206_replica_auth.md). The file must be private to its owner — a secret others
 * can read authenticates nobody — and hold 64 hex digits. Every problem is a `ConfigError`
 * (clusterd exits with code 2 and says what to fix).
 */
import { readFileSync, statSync } from "node:fs";
import { parseReplicaSecret } from "@mzts/protocol";
import { ConfigError } from "./config.js";

const FLAG = "--controller-secret-file";

/** @throws ConfigError */
export function readControllerSecret(path: string): Uint8Array {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode & 0o777;
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(FLAG, `cannot read ${path}: ${(e as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      FLAG,
      `${path} is readable by group or others (mode ${mode.toString(8).padStart(4, "0")}); run chmod 600 ${path}`,
    );
  }
  try {
    return parseReplicaSecret(text);
  } catch (e) {
    throw new ConfigError(FLAG, `${path}: ${(e as Error).message}`);
  }
}
