/**
 * The main thread's reader of ingestion resume points (both runtimes: the unified preparation
 * task, the legacy runtime's `resume` requests). Persist's modules (SQLite, Postgres, the shard
 * machinery) are not among what a (re)starting replica loads before it spawns its worker threads:
 * they load in the background once the reader exists, and the client opens on the first read
 * (issue 16, rehydration); an open that failed is tried again at the next read.
 */
import type { PersistClient } from "@mzts/persist";
import type { IngestionDescription } from "@mzts/protocol";
import type { Logger } from "pino";
import type { IngestionResume } from "./ingestion.js";
import { lazyPersist } from "./worker-config.js";

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
  const reader = import("./async-storage-worker.js");
  reader.catch(() => {}); // surfaced by `read`
  const owned = lazyPersist({ dataDir: opts.dataDir }, opts.logger);
  return {
    async read(d, nowMs) {
      const [client, { readIngestionResume }] = await Promise.all([
        opts.persist ?? owned.open(),
        reader,
      ]);
      return readIngestionResume(client, d, nowMs);
    },
    close: () => owned.close(),
  };
}
