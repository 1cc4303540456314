/**
 * `DataflowAction`: what a controller command implies for a worker's dataflows (render, drop,
 * drop one export), returned by `StorageState.applyCommand` and run by the worker loops at a
 * position of the shared order (`ACTIONS_PER_COMMAND` per command).
 */
import type { IngestionDescription } from "@mzts/protocol";
import type { GlobalId } from "@mzts/repr";
import type { IngestionResume } from "./ingestion.js";

/** A dataflow change implied by a controller command. */
export type DataflowAction =
  | {
      readonly kind: "render";
      readonly id: GlobalId;
      readonly description: IngestionDescription;
      /** Present on the unified path (prepared); the legacy worker 0 reads it itself. */
      readonly resume: IngestionResume | undefined;
    }
  | { readonly kind: "drop"; readonly id: GlobalId }
  | { readonly kind: "dropExport"; readonly ingestionId: GlobalId; readonly exportId: GlobalId };

/**
 * Room for the dataflow actions of one command in the position space: the actions of the command
 * at position `p` of the shared order run at `p * ACTIONS_PER_COMMAND + i`.
 */
export const ACTIONS_PER_COMMAND = 1024;
