/**
 * The durable record of the processes an orchestrator runs: `<dataDir>/orchestrator/replicas.json`.
 *
 * It is what lets the next environmentd boot adopt live replicas instead of restarting them.
 *
 * ## Invariants
 * - Written atomically (temp file + fsync + rename): a crash leaves the old or the new file, never
 *   a torn one.
 * - A record exists for every process the orchestrator started and has not seen die, written as
 *   soon as its pid is known (ports are null until it is ready), so a crash mid-start leaks nothing.
 * - A record is a claim, not a proof: the loader of the next boot checks the pid is alive and is
 *   really that replica's clusterd before trusting it (`process-probe.ts`).
 * - A file that cannot be parsed is moved aside (`replicas.json.corrupt-<time>`), never trusted;
 *   the processes it named exit on their own after their controller-absent timeout.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { PhaseSetJson } from "@mzts/flags";
import type { Ports } from "./clusterd-process.js";

export interface ReplicaRecord {
  readonly replicaId: string;
  readonly clusterId: string;
  readonly workers: number;
  readonly phases: PhaseSetJson;
  /** The generation that last started or adopted the process. */
  readonly generation: number;
  readonly pid: number;
  /** The clusterd entry the process runs (checked against /proc/<pid>/cmdline). */
  readonly clusterdPath: string;
  /** Null while the process is starting; `{cluster, http}` in the one-port layout. */
  readonly ports: Ports | null;
  readonly host: string;
  /** ISO-8601. */
  readonly startedAt: string;
}

interface RecordsFile {
  readonly version: 1;
  readonly replicas: readonly ReplicaRecord[];
}

export interface LoadedRecords {
  readonly records: ReplicaRecord[];
  /** Set when the file was unreadable and moved aside: where it went and why. */
  readonly corrupt?: { readonly movedTo: string; readonly problem: string };
}

/** `<dataDir>/orchestrator` */
export function orchestratorDir(dataDir: string): string {
  return join(dataDir, "orchestrator");
}

export function recordsPath(dataDir: string): string {
  return join(orchestratorDir(dataDir), "replicas.json");
}

function isRecord(value: unknown): value is ReplicaRecord {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  const ports = r.ports as Record<string, unknown> | null | undefined;
  return (
    typeof r.replicaId === "string" &&
    typeof r.clusterId === "string" &&
    typeof r.workers === "number" &&
    typeof r.phases === "object" &&
    r.phases !== null &&
    typeof r.generation === "number" &&
    Number.isSafeInteger(r.pid) &&
    (r.pid as number) > 0 &&
    typeof r.clusterdPath === "string" &&
    typeof r.host === "string" &&
    typeof r.startedAt === "string" &&
    (ports === null ||
      (typeof ports === "object" &&
        ports !== undefined &&
        typeof ports.http === "number" &&
        (typeof ports.cluster === "number" ||
          (typeof ports.compute === "number" && typeof ports.storage === "number"))))
  );
}

/** Reads the records; a missing file is empty, a malformed one is moved aside. */
export function loadRecords(dataDir: string): LoadedRecords {
  const path = recordsPath(dataDir);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { records: [] };
    throw e;
  }
  let problem: string | undefined;
  try {
    const parsed = JSON.parse(text) as Partial<RecordsFile>;
    if (parsed?.version !== 1 || !Array.isArray(parsed.replicas)) {
      problem = "expected {version: 1, replicas: [...]}";
    } else {
      const bad = parsed.replicas.findIndex((r) => !isRecord(r));
      if (bad >= 0) problem = `replicas[${bad}] is not a replica record`;
      else return { records: [...parsed.replicas] };
    }
  } catch (e) {
    problem = `not JSON (${(e as Error).message})`;
  }
  const movedTo = `${path}.corrupt-${Date.now()}`;
  renameSync(path, movedTo);
  return { records: [], corrupt: { movedTo, problem } };
}

/** Replaces the records atomically (temp + fsync + rename). */
export function saveRecords(dataDir: string, records: readonly ReplicaRecord[]): void {
  mkdirSync(orchestratorDir(dataDir), { recursive: true });
  const path = recordsPath(dataDir);
  const tmp = `${path}.tmp-${process.pid}`;
  const body: RecordsFile = {
    version: 1,
    replicas: [...records].sort((a, b) => a.replicaId.localeCompare(b.replicaId)),
  };
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, `${JSON.stringify(body, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
