/**
 * `ReadyLineReader`: a starting replica's stdout read incrementally — the ready line found when
 * it is complete, however the writes split it (mid-line, mid-character), after other output, and
 * each poll reading only what was written since the last.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ReadyLineReader } from "./clusterd-process.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function stdoutPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "ready-line-"));
  dirs.push(dir);
  return join(dir, "clusterd.out");
}
const READY = `${JSON.stringify({ level: 30, msg: "clusterd ready", clusterPort: 4001, httpPort: 4002 })}\n`;

describe("ReadyLineReader", () => {
  it("is null until the file exists and the ready line is complete", () => {
    const path = stdoutPath();
    const reader = new ReadyLineReader(path);
    expect(reader.poll()).toBeNull();
    writeFileSync(path, `${JSON.stringify({ msg: "starting" })}\n`);
    expect(reader.poll()).toBeNull();
    appendFileSync(path, READY.slice(0, 20));
    expect(reader.poll()).toBeNull();
    appendFileSync(path, READY.slice(20, -1));
    expect(reader.poll()).toBeNull(); // no newline yet: a partial line
    appendFileSync(path, "\n");
    expect(reader.poll()).toEqual({ cluster: 4001, http: 4002 });
    reader.close();
  });

  it("finds the ready line after a long output, split inside a multi-byte character", () => {
    const path = stdoutPath();
    const reader = new ReadyLineReader(path);
    const chatter = `${JSON.stringify({ msg: "hydrating é" })}\n`.repeat(5_000); // > the 64 KB chunk
    const bytes = Buffer.from(chatter + READY);
    const cut = chatter.length - 3; // inside the last "é" line's bytes
    writeFileSync(path, bytes.subarray(0, cut));
    expect(reader.poll()).toBeNull();
    appendFileSync(path, bytes.subarray(cut));
    expect(reader.poll()).toEqual({ cluster: 4001, http: 4002 });
    reader.close();
  });
});
