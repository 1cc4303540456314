/**
 * File `Blob` (the embedded default): one file per key under a root directory; the key's `/`
 * separated segments are directories (`<root>/<shard>/<batch>`).
 *
 * ## Atomic, durable `set`
 * 1. `mkdir -p` the key's directory (fsync its parent when it was just created);
 * 2. write the bytes to `.tmp-<name>-<random>` in that directory and `fsync` the file;
 * 3. `rename` it over the final name (atomic on POSIX);
 * 4. `fsync` the directory so the rename itself is durable.
 * A reader therefore sees the old file, the new file or nothing — never a partial write — and a
 * resolved `set` survives `kill -9` and power loss. A crash between 2 and 3 leaves a dot-file that
 * `list` ignores and `sweepTempFiles` removes.
 *
 * `delete` removes the file and then the key's directory if it became empty, so a dropped shard
 * leaves no directory behind. A concurrent `set` into a directory being removed retries.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rmdir, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { InvalidShardId, PersistClosed, StorageUnavailable } from "../errors.js";
import { type Blob, isValidBlobKey } from "./blob.js";

const TMP_PREFIX = ".tmp-";

/** Opens (creating if needed) a file blob store rooted at `root`. */
export function createFileBlob(root: string): Blob & {
  sweepTempFiles(olderThanMs: number, prefix?: string): Promise<number>;
} {
  const dir = resolve(root);
  const location = `file:${dir}`;
  let closed = false;

  const pathOf = (key: string): string => {
    if (!isValidBlobKey(key)) throw new InvalidShardId(key);
    return join(dir, ...key.split("/"));
  };
  async function run<T>(op: string, f: () => Promise<T>): Promise<T> {
    if (closed) throw new PersistClosed(`blob ${location}`);
    try {
      return await f();
    } catch (e) {
      if (e instanceof InvalidShardId) throw e;
      throw new StorageUnavailable("blob", op, e);
    }
  }

  async function fsyncDir(path: string): Promise<void> {
    const fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** mkdir -p, fsyncing each parent whose entry list changed. */
  async function ensureDir(path: string): Promise<void> {
    const created = await mkdir(path, { recursive: true });
    if (created !== undefined) {
      // `created` is the first directory made; fsync its parent and every new level's parent.
      let p = path;
      while (p.length >= created.length) {
        await fsyncDir(dirname(p));
        p = dirname(p);
      }
    }
  }

  async function writeOnce(path: string, value: Uint8Array): Promise<void> {
    const parent = dirname(path);
    await ensureDir(parent);
    const tmp = join(
      parent,
      `${TMP_PREFIX}${path.slice(parent.length + 1)}-${randomBytes(6).toString("hex")}`,
    );
    const fh = await open(tmp, "wx");
    try {
      await fh.writeFile(value);
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw e;
    }
    await fh.close();
    try {
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
    await fsyncDir(parent);
  }

  async function walk(path: string, prefix: string, out: string[]): Promise<void> {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch (e) {
      if (isErrno(e, "ENOENT") || isErrno(e, "ENOTDIR")) return;
      throw e;
    }
    for (const ent of entries) {
      if (ent.name.startsWith(".")) continue;
      const key = prefix === "" ? ent.name : `${prefix}/${ent.name}`;
      if (ent.isDirectory()) await walk(join(path, ent.name), key, out);
      else if (ent.isFile()) out.push(key);
    }
  }

  return {
    location,
    get: (key) =>
      run("get", async () => {
        try {
          const b = await readFile(pathOf(key));
          return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
        } catch (e) {
          if (isErrno(e, "ENOENT")) return undefined;
          throw e;
        }
      }),
    set: (key, value) =>
      run("set", async () => {
        const path = pathOf(key);
        for (let attempt = 0; ; attempt++) {
          try {
            await writeOnce(path, value);
            return;
          } catch (e) {
            // A concurrent delete removed the (empty) directory between mkdir and open/rename.
            if (isErrno(e, "ENOENT") && attempt < 5) continue;
            throw e;
          }
        }
      }),
    delete: (key) =>
      run("delete", async () => {
        const path = pathOf(key);
        try {
          await unlink(path);
        } catch (e) {
          if (!isErrno(e, "ENOENT")) throw e;
        }
        // Remove now-empty directories up to (not including) the root.
        let p = dirname(path);
        while (p.length > dir.length) {
          try {
            await rmdir(p);
          } catch (e) {
            if (isErrno(e, "ENOTEMPTY") || isErrno(e, "EEXIST") || isErrno(e, "ENOENT")) break;
            throw e;
          }
          p = dirname(p);
        }
      }),
    list: (prefix) =>
      run("list", async () => {
        const out: string[] = [];
        // Only walk the directory the prefix pins down.
        const slash = prefix.lastIndexOf("/");
        const base = slash < 0 ? "" : prefix.slice(0, slash);
        if (base !== "" && !isValidBlobKey(base)) return [];
        await walk(base === "" ? dir : join(dir, ...base.split("/")), base, out);
        return out.filter((k) => k.startsWith(prefix));
      }),
    sweepTempFiles: (olderThanMs, prefix = "") =>
      run("sweepTempFiles", async () => {
        let removed = 0;
        const cutoff = Date.now() - olderThanMs;
        const base = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
        if (base !== "" && !isValidBlobKey(base)) return 0;
        const start = base === "" ? dir : join(dir, ...base.split("/"));
        const visit = async (path: string): Promise<void> => {
          let entries: import("node:fs").Dirent[];
          try {
            entries = await readdir(path, { withFileTypes: true });
          } catch {
            return;
          }
          for (const ent of entries) {
            const p = join(path, ent.name);
            if (ent.isDirectory()) await visit(p);
            else if (ent.name.startsWith(TMP_PREFIX)) {
              const st = await stat(p).catch(() => undefined);
              if (st !== undefined && st.mtimeMs <= cutoff) {
                await unlink(p).catch(() => {});
                removed++;
              }
            }
          }
          // Remove the directory if that left it empty (never the root).
          if (path !== dir) await rmdir(path).catch(() => {});
        };
        await visit(start);
        return removed;
      }),
    async close() {
      closed = true;
    },
  };
}

function isErrno(e: unknown, code: string): boolean {
  return (e as { code?: string } | null)?.code === code;
}
