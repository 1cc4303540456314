/**
 * The baseline build of `pnpm bench --compare <ref>` (@internal): `<ref>` checked out in a
 * temporary git worktree (`git worktree add --detach` under a fresh `/tmp/mzts-bench-compare-*`
 * directory), installed from its own lockfile without the network
 * (`pnpm install --frozen-lockfile --offline`) and built (`pnpm build`, turbo-cached).
 *
 * The benches and their harness (`e2e/bench/`, `e2e/src/harness/`) are then copied over from the
 * candidate tree, so the same code measures both builds (an older ref may not print result lines
 * at all) while every process it starts — clusterd, environmentd, the echo servers' Connect stack
 * — is the ref's build.
 *
 * `remove()` takes the worktree away again (`git worktree remove --force`, then the directory and
 * `git worktree prune`); the driver calls it in a `finally` and on SIGINT/SIGTERM, so a failed
 * build or bench leaves nothing behind.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BenchUsageError, run } from "../exec.js";

export interface BaselineTree {
  /** The worktree's root (the ref's build). */
  readonly root: string;
  /** The full commit id checked out. */
  readonly commit: string;
  remove(): Promise<void>;
}

/** Resolves `ref` to a full commit id in the repository at `repoRoot`; throws a clear error. */
export async function resolveCommit(repoRoot: string, ref: string): Promise<string> {
  try {
    return (
      await run("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], repoRoot)
    ).trim();
  } catch {
    throw new BenchUsageError(
      `--compare: "${ref}" is not a commit in ${repoRoot} (try a branch, tag or sha: git log --oneline)`,
    );
  }
}

/**
 * Checks `commit` out in a temporary worktree, installs, builds and overlays the candidate's
 * benches. On any failure the worktree is removed before the error propagates.
 */
export async function prepareBaseline(
  repoRoot: string,
  commit: string,
  progress: (line: string) => void,
): Promise<BaselineTree> {
  const dir = mkdtempSync(join(tmpdir(), "mzts-bench-compare-"));
  const root = join(dir, "tree");
  let removed: Promise<void> | undefined;
  const remove = () =>
    (removed ??= (async () => {
      await run("git", ["worktree", "remove", "--force", root], repoRoot).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      await run("git", ["worktree", "prune"], repoRoot).catch(() => {});
    })());
  try {
    progress(`git worktree add ${root} ${commit.slice(0, 10)}`);
    await run("git", ["worktree", "add", "--detach", root, commit], repoRoot);
    progress("pnpm install --frozen-lockfile --offline");
    await run("pnpm", ["install", "--frozen-lockfile", "--offline"], root);
    progress("pnpm build");
    await run("pnpm", ["build"], root);
    for (const sub of ["e2e/bench", "e2e/src/harness"]) {
      rmSync(join(root, sub), { recursive: true, force: true });
      cpSync(join(repoRoot, sub), join(root, sub), { recursive: true });
    }
    return { root, commit, remove };
  } catch (e) {
    await remove();
    throw e;
  }
}

/** Synchronous removal for an `exit` handler (the async one may not get to run). */
export function removeSync(repoRoot: string, root: string): void {
  rmSync(join(root, ".."), { recursive: true, force: true });
  // `git worktree prune` drops the registration of a worktree whose directory is gone.
  spawnSync("git", ["worktree", "prune"], { cwd: repoRoot, stdio: "ignore" });
}
