// PHASE(servers): legacy — delete when cluster-unification-servers is retired
/**
 * Messages of the legacy storage runtime (plain data): main thread ↔ workers, and the internal
 * commands worker 0 orders.
 */
import type { IngestionDescription, StorageCommand } from "@mzts/protocol";
import type { GlobalId } from "@mzts/repr";
import type { IngestionResume } from "../ingestion.js";

/** Main → every worker, on `LEGACY_COMMANDS`. */
export type LegacyMainToWorker =
  | { readonly kind: "connect"; readonly nonce: string }
  | { readonly kind: "commands"; readonly commands: readonly StorageCommand[] };

/** Worker → main, on `LEGACY_OUT`. */
export type LegacyWorkerToMain =
  | { readonly kind: "response"; readonly nonce: string | null; readonly response: unknown }
  | { readonly kind: "fatal"; readonly message: string }
  /** Worker 0's async task asks for an ingestion's resume point. */
  | {
      readonly kind: "resume";
      readonly requestId: number;
      readonly id: GlobalId;
      readonly description: IngestionDescription;
    };

/** Main → worker 0, on `LEGACY_ASYNC`: the answer to a `resume` request. */
export type LegacyAsyncResult =
  | { readonly requestId: number; readonly resume: IngestionResume }
  | { readonly requestId: number; readonly error: string };

/** Storage's internal commands (materialize.md §1.3 `InternalStorageCommand`), ordered by worker 0. */
export type InternalStorageCommand =
  | {
      readonly kind: "createIngestionDataflow";
      readonly id: GlobalId;
      readonly description: IngestionDescription;
      readonly resume: IngestionResume | undefined;
    }
  | { readonly kind: "dropDataflow"; readonly id: GlobalId }
  | { readonly kind: "dropExport"; readonly ingestionId: GlobalId; readonly exportId: GlobalId };

export const LEGACY_COMMANDS = "legacy-storage:commands";
export const LEGACY_OUT = "legacy-storage:out";
export const LEGACY_ASYNC = "legacy-storage:async";
export const LEGACY_SEQ = "legacy-storage:seq";

/** `workerData.init` of a legacy worker. */
export interface LegacyInit {
  readonly config: unknown;
  readonly maintenanceIntervalMs: number;
  readonly stepBudgetMs: number;
}
