/**
 * The main thread's reader of ingestion resume points (both runtimes: the unified preparation
 * task, the legacy runtime's `resume` requests). Persist's modules (SQLite, Postgres, the shard
 * machinery) are loaded, and the client opened, on the first read — not while a (re)starting
 * replica's worker threads load theirs: a runtime is created before the replica serves, and an
 * ingestion is only prepared once a controller is connected (issue 16, rehydration).
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
  let owned: Promise<PersistClient> | undefined;
  const persist = (): Promise<PersistClient> => {
    if (opts.persist !== undefined) return Promise.resolve(opts.persist);
    owned ??= import("@mzts/persist").then(({ createPersist }) =>
      createPersist({ dataDir: opts.dataDir, logger: opts.logger }),
    );
    return owned;
  };
  return {
    async read(d, nowMs) {
      const [client, { readIngestionResume }] = await Promise.all([
        persist(),
        import("./async-storage-worker.js"),
      ]);
      return readIngestionResume(client, d, nowMs);
    },
    async close() {
      if (owned !== undefined) await (await owned).close();
    },
  };
}
