import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhaseSet } from "@mzts/flags";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  loadRecords,
  orchestratorDir,
  type ReplicaRecord,
  recordsPath,
  saveRecords,
} from "./replica-records.js";

describe("replica records", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "mzts-records-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const record: ReplicaRecord = {
    replicaId: "r1",
    clusterId: "u1",
    workers: 2,
    phases: PhaseSet.of("u1", { servers: true }).toJSON(),
    generation: 3,
    pid: 1234,
    clusterdPath: "/x/main.js",
    ports: { compute: 1, storage: 2, http: 3 },
    host: "127.0.0.1",
    startedAt: new Date(0).toISOString(),
  };

  it("a missing file is empty; a saved file round-trips with no temp file left", () => {
    expect(loadRecords(dir).records).toEqual([]);
    const onePort: ReplicaRecord = { ...record, replicaId: "r2", ports: { cluster: 4, http: 5 } };
    saveRecords(dir, [record, { ...record, replicaId: "r0", ports: null }, onePort]);
    const loaded = loadRecords(dir);
    expect(loaded.records.map((r) => r.replicaId)).toEqual(["r0", "r1", "r2"]);
    expect(loaded.records[1]).toEqual(record);
    expect(loaded.records[2]).toEqual(onePort);
    expect(readdirSync(orchestratorDir(dir))).toEqual(["replicas.json"]);
  });

  it("a malformed file is moved aside, not trusted", () => {
    mkdirSync(orchestratorDir(dir), { recursive: true });
    writeFileSync(recordsPath(dir), JSON.stringify({ version: 1, replicas: [{ pid: "x" }] }));
    const loaded = loadRecords(dir);
    expect(loaded.records).toEqual([]);
    expect(loaded.corrupt?.problem).toContain("replicas[0]");
    expect(existsSync(recordsPath(dir))).toBe(false);
    expect(existsSync(loaded.corrupt?.movedTo ?? "")).toBe(true);
  });
});
