/**
 * Starting a real clusterd child process for e2e tests: free ports chosen by the OS (port 0),
 * loopback only, a temporary persist directory, the phase flags passed in as a PhaseSet, and the
 * ports read from clusterd's "clusterd ready" log line. Each clusterd gets a fresh replica secret
 * (a 0600 file, `--controller-secret-file`), exposed as `secret` for the drivers to sign their
 * hellos with; `secret: null` starts it with `--insecure-no-auth` instead.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PhaseSet } from "@mzts/flags";
import { formatReplicaSecret, generateReplicaSecret } from "@mzts/protocol";
import { type Started, startNode } from "./processes.js";
import { profileNodeArgs } from "./profile.js";

const CLUSTERD = fileURLToPath(new URL("../../../packages/clusterd/dist/main.js", import.meta.url));

export interface ClusterdHandle {
  readonly process: Started;
  readonly computeUrl: string;
  readonly storageUrl: string;
  readonly httpUrl: string;
  /** The replica secret the drivers sign hellos with (null: started with --insecure-no-auth). */
  readonly secret: Uint8Array | null;
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ClusterdOptions {
  readonly clusterId?: string;
  readonly replicaId?: string;
  readonly workers?: number;
  readonly persistDir: string;
  /** Phase flags to pass (absent = all off). */
  readonly flags?: { readonly [phase: string]: boolean };
  readonly controllerAbsentTimeout?: string;
  readonly extraArgs?: readonly string[];
  /** The replica secret (default: a fresh one); null = `--insecure-no-auth`. */
  readonly secret?: Uint8Array | null;
  /** clusterd's entry script (default: this tree's `packages/clusterd/dist/main.js`). */
  readonly entry?: string;
}

export async function startClusterd(opts: ClusterdOptions): Promise<ClusterdHandle> {
  const clusterId = opts.clusterId ?? "u1";
  const phases = PhaseSet.of(clusterId, opts.flags ?? {});
  const secret = opts.secret === undefined ? generateReplicaSecret() : opts.secret;
  const secretDir = mkdtempSync(join(tmpdir(), "mzts-e2e-secret-"));
  const secretFile = join(secretDir, "replica-secret");
  if (secret !== null) writeFileSync(secretFile, formatReplicaSecret(secret), { mode: 0o600 });
  const proc = startNode(
    opts.entry ?? CLUSTERD,
    [
      "--cluster-id",
      clusterId,
      "--replica-id",
      opts.replicaId ?? "u1",
      "--workers",
      String(opts.workers ?? 2),
      "--compute-listen",
      "127.0.0.1:0",
      "--storage-listen",
      "127.0.0.1:0",
      "--http-listen",
      "127.0.0.1:0",
      "--persist-dir",
      opts.persistDir,
      "--phases",
      JSON.stringify(phases),
      "--controller-absent-timeout",
      opts.controllerAbsentTimeout ?? "60s",
      ...(secret === null ? ["--insecure-no-auth"] : ["--controller-secret-file", secretFile]),
      ...(opts.extraArgs ?? []),
    ],
    {},
    profileNodeArgs("clusterd"),
  );
  void proc.exited.then(() => rmSync(secretDir, { recursive: true, force: true }));
  const line = await proc.waitForLine((l) => l.includes('"clusterd ready"'));
  const ready = JSON.parse(line) as { computePort: number; storagePort: number; httpPort: number };
  return {
    process: proc,
    computeUrl: `http://127.0.0.1:${ready.computePort}`,
    storageUrl: `http://127.0.0.1:${ready.storagePort}`,
    httpUrl: `http://127.0.0.1:${ready.httpPort}`,
    secret,
    async stop() {
      proc.child.kill("SIGTERM");
      return proc.exited;
    },
  };
}
