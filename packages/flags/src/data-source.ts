/**
 * A gate between an SDK data source (the file data source, TestData, any `updateProcessor`
 * factory) and the SDK's store: every delivery passes through a `DataGate` that may accept it,
 * rewrite it, or drop it, so garbage never reaches the store and the last good data stays there.
 *
 * ## Flow
 * 1. The SDK calls the wrapped factory with its `LDDataSourceUpdates`; the gate hands the real
 *    data source a proxy instead.
 * 2. `init(allData)` (a full data set: the file source on each load, TestData at start) goes to
 *    `gate.init`, which returns the data to store, or `undefined` to leave the store untouched.
 * 3. `upsert(kind, item)` (one flag changed: TestData `update`, streaming patches) goes to
 *    `gate.upsert`, which returns whether to store it.
 * 4. When the SDK has stored an accepted delivery, `gate.changed()` runs (this is the refresh
 *    signal: unlike the SDK's `update` events it fires even when a file edit keeps a flag's
 *    `version`).
 * 5. Errors the data source reports (unreadable file, invalid JSON) go to `gate.error` and then on
 *    to the SDK (which fails initialisation if it has not initialised yet, and otherwise keeps
 *    its store).
 *
 * A dropped `init` does not call the SDK's callback, so a first delivery that is dropped leaves
 * the client uninitialised (`ready()` then fails with the recorded error).
 *
 * `guardWatchErrors` covers a gap of the SDK's file data source: its watch callback is async and
 * a failure inside it (the watched file was deleted: `stat` fails with ENOENT) would be an
 * unhandled rejection, which ends a Node process. The guard hands such failures to a handler.
 */
import type { LDOptions } from "@launchdarkly/node-server-sdk";

/** The `updateProcessor` option of the SDK: a data source factory (or an instance). */
export type UpdateProcessorOption = NonNullable<LDOptions["updateProcessor"]>;
/** A data source factory, e.g. `new integrations.TestData().getFactory()`. */
export type DataSourceFactory = Extract<UpdateProcessorOption, (...args: never[]) => unknown>;
type DataSourceUpdates = Parameters<DataSourceFactory>[1];
/** The full data set of one `init`: namespace (`features`, `segments`) → key → item. */
export type AllData = Parameters<DataSourceUpdates["init"]>[0];
/** One item of an `upsert`. */
export type DataItem = Parameters<DataSourceUpdates["upsert"]>[1];
/** The kind of an `upsert` (`namespace` is `"features"` for flags). */
export type DataKind = Parameters<DataSourceUpdates["upsert"]>[0];

/** Decides what a data source may store. */
export interface DataGate {
  /** A full data set: return what to store, or `undefined` to keep the store as it is. */
  init(allData: AllData): AllData | undefined;
  /** One changed item: return whether to store it. */
  upsert(kind: DataKind, item: DataItem): boolean;
  /** An accepted delivery has been stored. */
  changed(): void;
  /** The data source reported an error. */
  error(error: Error): void;
}

/**
 * Wraps a data source factory so that failures inside its file watch callbacks go to `onError`
 * instead of becoming unhandled rejections.
 */
export function guardWatchErrors(
  factory: DataSourceFactory,
  onError: (error: Error) => void,
): DataSourceFactory {
  return (clientContext, updates, initSuccess, errorHandler) => {
    const platform = clientContext.platform;
    const fileSystem = platform.fileSystem;
    if (fileSystem === undefined) {
      return factory(clientContext, updates, initSuccess, errorHandler);
    }
    const report = (e: unknown) => onError(e instanceof Error ? e : new Error(String(e)));
    // Overlays keep the SDK objects' prototypes (they are class instances).
    const guardedFileSystem: typeof fileSystem = Object.create(fileSystem, {
      watch: {
        value: (path: string, callback: (eventType: string, filename: string) => void) =>
          fileSystem.watch(path, (eventType, filename) => {
            try {
              const result: unknown = callback(eventType, filename);
              if (result instanceof Promise) result.catch(report);
            } catch (e) {
              report(e);
            }
          }),
      },
    });
    const guardedContext: typeof clientContext = Object.create(clientContext, {
      platform: { value: Object.create(platform, { fileSystem: { value: guardedFileSystem } }) },
    });
    return factory(guardedContext, updates, initSuccess, errorHandler);
  };
}

/** Wraps a data source factory so that every delivery goes through `gate`. */
export function gateDataSource(factory: DataSourceFactory, gate: DataGate): DataSourceFactory {
  return (clientContext, updates, initSuccess, errorHandler) => {
    const gated: DataSourceUpdates = {
      init(allData, callback, initMetadata) {
        const accepted = gate.init(allData);
        if (accepted === undefined) return;
        updates.init(
          accepted,
          () => {
            callback();
            gate.changed();
          },
          initMetadata,
        );
      },
      upsert(kind, item, callback) {
        if (!gate.upsert(kind, item)) {
          callback();
          return;
        }
        updates.upsert(kind, item, () => {
          callback();
          gate.changed();
        });
      },
    };
    return factory(clientContext, gated, initSuccess, (error: Error) => {
      gate.error(error);
      errorHandler?.(error);
    });
  };
}
