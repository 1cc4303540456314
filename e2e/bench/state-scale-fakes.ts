/**
 * The in-memory world of the state-scale bench (`state-scale.bench.ts`): replicas and persist
 * without processes or I/O, so each side's process memory is its controller's.
 *
 * - `benchConnector()`: a `ReplicaConnector` (the seam both the legacy instances and the unified
 *   driver take). Each incarnation "connects" in a microtask, reads its replay once (as a real
 *   stream does when it opens) and keeps nothing it is sent — a bench must not measure a fake's
 *   buffers. `respond(replicaId, responses)` delivers responses as that replica's current
 *   incarnation. Its rehydration policy respawns at once (nothing fails here).
 * - `benchPersist()`: the slice of a persist client both sides use — `PersistReadHolds` (legacy)
 *   and `persistSinceHandleIo` (unified): `openShard` → `upper()` (what the replicas reported,
 *   `setUpper`), `maintenance()`, `openSinceHandle(readerId)` → `{ since, downgradeSince, expire }`.
 *   Both sides get the same fake, so its cost is the same on both.
 */
import type { ReplicaConnectionOptions } from "@mzts/controller-unified/replicas";
import { Frontier } from "@mzts/repr";

/** A fake connector and the handle that injects responses. */
export interface BenchConnector<R> {
  /** Pass as `connector` (the `-client` instances) or in `connectors` (the unified driver). */
  readonly connector: never;
  respond(replicaId: string, responses: readonly R[]): void;
}

/** Builds one connector (one per cluster and workload; see the file comment). */
export function benchConnector<C, R>(): BenchConnector<R> {
  const current = new Map<string, { opts: ReplicaConnectionOptions<C, R>; connected: boolean }>();
  const connector = (opts: ReplicaConnectionOptions<C, R>) => {
    const inc = { opts, connected: false, closed: false };
    current.set(opts.replicaId, inc);
    queueMicrotask(() => {
      if (inc.closed) return;
      opts.replay();
      inc.connected = true;
      opts.onConnected(opts.epoch);
    });
    return {
      epoch: opts.epoch,
      get state() {
        return inc.closed ? "closed" : inc.connected ? "connected" : "connecting";
      },
      send: () => {},
      close: async () => {
        inc.closed = true;
      },
    };
  };
  Object.assign(connector, {
    rehydration: {
      forReplica: () => ({
        started() {},
        failed(respawn: () => void) {
          respawn();
          return 0;
        },
        cancel() {},
      }),
    },
  });
  return {
    connector: connector as never,
    respond(replicaId, responses) {
      const inc = current.get(replicaId);
      if (inc?.connected) inc.opts.onResponses(inc.opts.epoch, responses);
    },
  };
}

/** The fake persist client and its upper switch. */
export interface BenchPersist {
  /** Pass as `persist` (legacy `PersistReadHolds`) or to `persistSinceHandleIo` (unified). */
  readonly client: never;
  /** The shard's upper as the replicas wrote it (what `upper()` answers). */
  setUpper(shardId: string, upper: Frontier): void;
}

/** Builds the fake persist (see the file comment). */
export function benchPersist(): BenchPersist {
  const uppers = new Map<string, Frontier>();
  const client = {
    openShard: async (shardId: string) => ({
      upper: async () => uppers.get(shardId) ?? Frontier.MIN,
      maintenance: async () => ({}),
      openSinceHandle: async () => {
        const handle = {
          since: Frontier.MIN as Frontier,
          downgradeSince: async (f: Frontier) => {
            handle.since = Frontier.join(handle.since, f);
          },
          expire: async () => {},
        };
        return handle;
      },
    }),
  };
  return {
    client: client as never,
    setUpper: (shardId, upper) => uppers.set(shardId, upper),
  };
}
