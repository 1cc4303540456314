/**
 * Messages between the runtime's main thread and its workers (plain data).
 */

/** `workerData.init` of a runtime worker. */
export interface RuntimeInit {
  /** URL (href) of the workload's worker module. */
  readonly specModule: string;
  readonly config: unknown;
  readonly maintenanceIntervalMs: number;
  /** Longest a worker steps before yielding to the event loop. */
  readonly stepBudgetMs: number;
}

/** An item of the total order. */
export type SequencedItem =
  | { readonly kind: "connect"; readonly nonce: string }
  | {
      readonly kind: "command";
      readonly nonce: string | null;
      readonly command: unknown;
      readonly internal: boolean;
    };

/** Main → worker 0: items to sequence, in order. */
export interface SubmitMessage {
  readonly items: readonly SequencedItem[];
}

/** Worker → main. */
export type WorkerToMain =
  | { readonly kind: "response"; readonly nonce: string | null; readonly response: unknown }
  | { readonly kind: "connected"; readonly nonce: string; readonly seq: number }
  | { readonly kind: "fatal"; readonly message: string }
  | { readonly kind: "closed" };
