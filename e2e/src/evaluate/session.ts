/**
 * One environmentd for an evaluation: a fresh data directory `/tmp/evaluate-*`, the evaluation's
 * flags file, ports 0 on loopback. `close()` stops everything the session started — environmentd
 * (a tracked child, `harness/processes.ts`) and every replica pid ever recorded for the data
 * directory (`ReplicaReaper`; replicas are detached by design) — and removes the directory. The
 * same happens synchronously on `process.exit`, which `processes.ts` also reaches on SIGINT and
 * SIGTERM, so an interrupted or failing run leaves no process and no directory behind.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type EnvironmentApi,
  type EnvironmentdHandle,
  ReplicaReaper,
  type ReplicaRecordView,
  startEnvironmentd,
} from "../harness/environment.js";
import { stopAll } from "../harness/processes.js";
import { writeEvaluationFlags } from "./flags-file.js";
import type { Sides } from "./phases.js";
import { EXPECTED_IDS } from "./workload.js";

export interface Session {
  readonly dataDir: string;
  readonly flagsFile: string;
  readonly env: EnvironmentdHandle;
  readonly api: EnvironmentApi;
  /** The orchestrator's replica records now (every pid seen is remembered for the reaper). */
  records(): ReplicaRecordView[];
  /** Stops environmentd and every replica, removes the data directory. Idempotent. */
  close(): Promise<void>;
}

/**
 * Creates the data directory, lets `writeFlags` write the flags file into it, and starts
 * environmentd on it.
 */
export async function openSession(opts: {
  readonly writeFlags: (file: string) => void;
  /** pino level of environmentd's logs (default warn). */
  readonly logLevel?: string;
}): Promise<Session> {
  const dataDir = mkdtempSync(join(tmpdir(), "evaluate-"));
  const flagsFile = join(dataDir, "evaluation-flags.json");
  const reaper = new ReplicaReaper(dataDir);
  let closed = false;
  const reapNow = () => {
    reaper.reap();
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once("exit", reapNow);
  const close = async () => {
    if (closed) return;
    closed = true;
    await stopAll();
    reapNow();
    process.removeListener("exit", reapNow);
  };
  try {
    opts.writeFlags(flagsFile);
    const env = await startEnvironmentd({
      dataDir,
      flagsFile,
      controllerAbsentTimeoutS: 20,
      ...(opts.logLevel === undefined ? {} : { logLevel: opts.logLevel }),
    });
    return {
      dataDir,
      flagsFile,
      env,
      api: env.api,
      records: () => reaper.observe(),
      async close() {
        env.api.close();
        await close();
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** A session whose flags file gives the candidate cluster (`EXPECTED_IDS`) the candidate's phases. */
export function openSidesSession(sides: Sides): Promise<Session> {
  return openSession({
    writeFlags: (file) =>
      writeEvaluationFlags(file, {
        candidateClusterId: EXPECTED_IDS.candidate,
        baseline: sides.baseline,
        candidate: sides.candidate,
      }),
  });
}
