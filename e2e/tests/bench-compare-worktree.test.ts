/**
 * `pnpm bench --compare`'s baseline worktree on a scratch git repository (no benches): the ref is
 * checked out, installed and built in a temporary worktree with this tree's benches copied in,
 * and removed again — also when its install fails; an unknown ref is a usage error.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { prepareBaseline, resolveCommit } from "../bench/compare/worktree.js";
import { BenchUsageError } from "../bench/exec.js";

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, encoding: "utf8" }).trim();

let repos: string[] = [];
afterEach(() => {
  for (const r of repos) rmSync(r, { recursive: true, force: true });
  repos = [];
});

/** A repository whose commit builds (`build` writes built.txt), with benches in the working tree. */
function scratchRepo(withLockfile: boolean): { root: string; commit: string } {
  const root = mkdtempSync(join(tmpdir(), "mzts-compare-test-"));
  repos.push(root);
  git(root, "init", "-q");
  git(root, "config", "user.email", "t@example.com");
  git(root, "config", "user.name", "t");
  writeFileSync(
    join(root, "package.json"),
    JSON.stringify({
      name: "scratch",
      private: true,
      scripts: { build: "echo built > built.txt" },
    }),
  );
  // The lockfile pnpm writes for a package without dependencies.
  if (withLockfile) execFileSync("pnpm", ["install", "--offline"], { cwd: root, stdio: "ignore" });
  writeFileSync(join(root, ".gitignore"), "node_modules/\nbuilt.txt\n");
  mkdirSync(join(root, "e2e", "bench"), { recursive: true });
  writeFileSync(join(root, "e2e", "bench", "x.bench.ts"), "// the ref's bench\n");
  git(root, "add", "-A");
  git(root, "commit", "-qm", "scratch");
  const commit = git(root, "rev-parse", "HEAD");
  // This tree's benches and harness (uncommitted): what the worktree gets.
  writeFileSync(join(root, "e2e", "bench", "x.bench.ts"), "// this tree's bench\n");
  mkdirSync(join(root, "e2e", "src", "harness"), { recursive: true });
  writeFileSync(join(root, "e2e", "src", "harness", "h.ts"), "// harness\n");
  return { root, commit };
}

const worktrees = (root: string) =>
  git(root, "worktree", "list", "--porcelain")
    .split("\n")
    .filter((l) => l.startsWith("worktree "));

describe("compare baseline worktree", () => {
  it("builds the ref in a temporary worktree with this tree's benches, then removes it", async () => {
    const { root, commit } = scratchRepo(true);
    expect(await resolveCommit(root, "HEAD")).toBe(commit);
    const b = await prepareBaseline(root, commit, () => {});
    try {
      expect(worktrees(root)).toHaveLength(2);
      expect(readFileSync(join(b.root, "built.txt"), "utf8").trim()).toBe("built");
      expect(readFileSync(join(b.root, "e2e", "bench", "x.bench.ts"), "utf8")).toMatch(/this tree/);
      expect(existsSync(join(b.root, "e2e", "src", "harness", "h.ts"))).toBe(true);
    } finally {
      await b.remove();
    }
    expect(existsSync(b.root)).toBe(false);
    expect(worktrees(root)).toHaveLength(1);
  }, 60_000);

  it("removes the worktree when the ref does not install", async () => {
    const { root, commit } = scratchRepo(false); // --frozen-lockfile without a lockfile fails
    const before = new Set(
      execFileSync("ls", [tmpdir()], { encoding: "utf8" })
        .split("\n")
        .filter((f) => f.startsWith("mzts-bench-compare-")),
    );
    await expect(prepareBaseline(root, commit, () => {})).rejects.toThrow(/pnpm install/);
    expect(worktrees(root)).toHaveLength(1);
    const after = execFileSync("ls", [tmpdir()], { encoding: "utf8" })
      .split("\n")
      .filter((f) => f.startsWith("mzts-bench-compare-") && !before.has(f));
    expect(after).toEqual([]);
  }, 60_000);

  it("calls an unknown ref a usage error", async () => {
    const { root } = scratchRepo(true);
    await expect(resolveCommit(root, "no-such-ref")).rejects.toBeInstanceOf(BenchUsageError);
  });
});
