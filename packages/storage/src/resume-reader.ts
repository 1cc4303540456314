/**
 * The main thread's reader of ingestion resume points (both runtimes: the unified preparation
 * task, the legacy runtime's `resume` requests). Persist's modules (SQLite, Postgres, the shard
 * machinery) are not among what a (re)starting replica loads before it spawns its worker threads:
 * they load in the background once the reader exists, and the client opens on the first read
 * (issue 16, rehydration).
 */
import type { PersistClient } from "@mzts/persist";
import type { IngestionDescription } from "@mzts/protocol";
import type { Logger } from "pino";
import type { IngestionResume } from "./ingestion.js";

export interface ResumeReaderOptions {
  /** A client to use (tests); default: one opened on `dataDir` on the first read. */
  readonly persist?: PersistClient;
  readonly dataDir: string;
  readonly logger: Logger;
}

export interface ResumeReader {
  /** `d`'s resume point at `nowMs` (`readIngestionResume`). @throws what persist throws */
  read(d: IngestionDescription, nowMs: bigint): Promise<IngestionResume>;
  /** Closes the client if this reader opened it. */
  close(): Promise<void>;
}

export function createResumeReader(opts: ResumeReaderOptions): ResumeReader {
  // Loading starts now, in the background: the runtime was just created and its workers are
  // loading theirs, so this thread compiles persist while it would wait for them anyway — not on
  // the first resume read, which a restarted replica's source waits for after the controller
  // connected.
  const modules = Promise.all([import("@mzts/persist"), import("./async-storage-worker.js")]);
  modules.catch(() => {}); // surfaced by `read`
  let owned: Promise<PersistClient> | undefined;
  const persist = (): Promise<PersistClient> => {
    if (opts.persist !== undefined) return Promise.resolve(opts.persist);
    owned ??= modules.then(([{ createPersist }]) =>
      createPersist({ dataDir: opts.dataDir, logger: opts.logger }),
    );
    return owned;
  };
  return {
    async read(d, nowMs) {
      const [client, [, { readIngestionResume }]] = await Promise.all([persist(), modules]);
      return readIngestionResume(client, d, nowMs);
    },
    async close() {
      if (owned !== undefined) await (await owned).close();
    },
  };
}
